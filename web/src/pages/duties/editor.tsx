// The template editor (admins): name, description, fields (kind, label,
// options, limits, indicator), schedule (period, deadline time, days after,
// election stages) and filers (levels within regions, or listed regions).
// `PUT /api/v1/templates/{id}` names the wrong part of a refused definition
// (`fields[2].options`, `schedule.at`): it is shown at that input, focused.
import { useEffect, useState } from 'preact/hooks';
import { api, errorText, type Schemas } from '../../api/client';
import { indicatorName } from '../../i18n';
import { formatTime } from '../../lib/regions';
import { navigate } from '../../lib/router';
import { RegionsField } from '../search/fields';
import { partOf, type Field } from './shared';
import { w } from './words';

type Definition = Schemas['TemplateDefinition'];
type Kind = Schemas['TemplateFieldKind'];
type Level = Schemas['RegionLevel'];

const KINDS: Kind[] = ['situation', 'text', 'choice', 'number', 'date', 'region', 'attachment'];
const LEVELS: Level[] = ['province', 'regency', 'district'];
const INDICATORS = ['narkoba', 'konflik_sosial', 'kerukunan_beragama', 'ideologi', 'demokrasi'];
const EMPTY: Definition = {
  name: '',
  description: '',
  fields: [],
  schedule: { every: 'daily', at: '24:00', days_after: 0, stages: [] },
  filers: { levels: ['regency'], within: [], regions: [] },
};

/** The id of the input for an API part (`fields[2].options` → `t-fields-2-options`). */
const inputId = (part: string) => 't-' + part.replace(/\[(\d+)\]/g, '.$1').split('.').join('-');

export function TemplateEditor({ id }: { id?: string }) {
  const isNew = !id;
  const [newId, setNewId] = useState('');
  const [def, setDef] = useState<Definition | null>(isNew ? EMPTY : null);
  const [meta, setMeta] = useState<{ version: number; author: string; changed_at: string } | null>(null);
  const [note, setNote] = useState('');
  const [bad, setBad] = useState<{ part: string; message: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!id) return;
    api.GET('/api/v1/templates/{id}', { params: { path: { id } } }).then(({ data, error: e, response }) => {
      if (!data) return setError(errorText(e, response.status));
      const { id: _i, version, author, changed_at, note: _n, ...rest } = data;
      setDef(rest as Definition);
      setMeta({ version, author, changed_at });
    });
  }, [id]);

  useEffect(() => {
    if (bad) document.getElementById(inputId(bad.part))?.focus();
  }, [bad]);

  if (!def) return error ? <p class="err" role="alert">{error}</p> : <p aria-busy="true">{w('loading')}</p>;

  const change = (d: Partial<Definition>) => {
    setDef({ ...def, ...d });
    setSaved(null);
  };
  const setField = (i: number, f: Partial<Field>) => change({ fields: def.fields.map((x, j) => (j === i ? { ...x, ...f } : x)) });
  const move = (i: number, by: number) => {
    const fields = [...def.fields];
    const [f] = fields.splice(i, 1);
    fields.splice(i + by, 0, f);
    change({ fields });
  };
  const schedule = def.schedule;
  const filers = def.filers;
  /** Props that tie an input to its API part and show the part's error under it. */
  const part = (p: string) => ({
    id: inputId(p),
    'aria-invalid': bad?.part === p || undefined,
    'aria-describedby': bad?.part === p ? inputId(p) + '-err' : undefined,
  });
  const errAt = (p: string) =>
    bad?.part === p ? (
      <span class="err field-err" id={inputId(p) + '-err'}>
        {bad.message}
      </span>
    ) : null;

  const save = async (e: Event) => {
    e.preventDefault();
    setBad(null);
    setError(null);
    setSaved(null);
    const target = id ?? newId.trim();
    setBusy(true);
    try {
      const units = (def.filers.units ?? []).map((u) => u.trim()).filter(Boolean);
      const { units: _u, ...filersRest } = def.filers;
      const stages = (def.schedule.stages ?? []).map((st) => {
        const { status, ...rest } = st;
        return status ? { ...rest, status } : rest;
      });
      const body = {
        ...def,
        fields: def.fields.map(forKind),
        schedule: { ...def.schedule, stages },
        filers: { ...filersRest, ...(units.length ? { units } : {}) },
        ...(note.trim() ? { note: note.trim() } : {}),
      };
      const { data, error: er, response } = await api.PUT('/api/v1/templates/{id}', { params: { path: { id: target } }, body });
      if (!data) {
        const message = errorText(er, response.status);
        const p = partOf(message);
        // the part is one of this form's inputs: shown there; else above the button
        if (p && document.getElementById(inputId(p.part))) setBad(p);
        else if (p && p.part === 'id') setBad({ part: 'id', message: p.message });
        else setError(message);
        return;
      }
      setMeta({ version: data.version, author: data.author, changed_at: data.changed_at });
      setSaved(w('savedVersion', { n: data.version }));
      setNote('');
      if (isNew) navigate(`/duties/${data.id}/edit`);
    } catch {
      setError(errorText(null));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="template-editor" aria-labelledby="editor-title">
      <p>
        <a href="#/duties">{w('back')}</a>
      </p>
      <h1 id="editor-title">{isNew ? w('newTemplate') : w('editTemplate', { name: def.name })}</h1>
      {meta && <p class="meta">{w('versionBy', { n: meta.version, who: meta.author, time: formatTime(meta.changed_at) })}</p>}
      <form class="stack" onSubmit={save} noValidate>
        {isNew && (
          <label>
            {w('templateId')}
            <span class="hint"> {w('templateIdHint')}</span>
            <input {...part('id')} value={newId} onInput={(e) => setNewId((e.currentTarget as HTMLInputElement).value)} />
            {errAt('id')}
          </label>
        )}
        <label>
          {w('name')}
          <input {...part('name')} value={def.name} onInput={(e) => change({ name: (e.currentTarget as HTMLInputElement).value })} />
          {errAt('name')}
        </label>
        <label>
          {w('description')}
          <textarea {...part('description')} rows={2} value={def.description ?? ''} onInput={(e) => change({ description: (e.currentTarget as HTMLTextAreaElement).value })} />
          {errAt('description')}
        </label>

        <h2>{w('fields')}</h2>
        {errAt('fields')}
        <input type="hidden" id={inputId('fields')} />
        <ol class="field-list">
          {def.fields.map((f, i) => {
            const at = `fields[${i}]`;
            return (
              <li key={i} class="card">
                <fieldset>
                  <legend>{w('fieldN', { n: i + 1, label: f.label || f.id || '…' })}</legend>
                  {errAt(at)}
                  <div class="row">
                    <label>
                      {w('fieldId')}
                      <input {...part(`${at}.id`)} value={f.id} onInput={(e) => setField(i, { id: (e.currentTarget as HTMLInputElement).value })} />
                      {errAt(`${at}.id`)}
                    </label>
                    <label>
                      {w('kind')}
                      <select {...part(`${at}.kind`)} value={f.kind} onChange={(e) => setField(i, { kind: (e.currentTarget as HTMLSelectElement).value as Kind })}>
                        {KINDS.map((k) => (
                          <option key={k} value={k}>
                            {w(`kind.${k}` as 'kind.text')}
                          </option>
                        ))}
                      </select>
                      {errAt(`${at}.kind`)}
                    </label>
                  </div>
                  <label>
                    {w('label')}
                    <input {...part(`${at}.label`)} value={f.label} onInput={(e) => setField(i, { label: (e.currentTarget as HTMLInputElement).value })} />
                    {errAt(`${at}.label`)}
                  </label>
                  <label>
                    {w('help')}
                    <input {...part(`${at}.help`)} value={f.help ?? ''} onInput={(e) => setField(i, { help: (e.currentTarget as HTMLInputElement).value })} />
                    {errAt(`${at}.help`)}
                  </label>
                  <label class="check">
                    <input type="checkbox" checked={!!f.required} onChange={(e) => setField(i, { required: (e.currentTarget as HTMLInputElement).checked })} />
                    {w('requiredField')}
                  </label>
                  {f.kind === 'choice' && (
                    <label>
                      {w('options')}
                      <span class="hint"> {w('optionsHint')}</span>
                      <textarea
                        {...part(`${at}.options`)}
                        rows={3}
                        value={(f.options ?? []).join('\n')}
                        onInput={(e) => setField(i, { options: (e.currentTarget as HTMLTextAreaElement).value.split('\n') })}
                      />
                      {errAt(`${at}.options`)}
                    </label>
                  )}
                  {f.kind === 'number' && (
                    <div class="row">
                      <label>
                        {w('min')}
                        <input {...part(`${at}.min`)} type="number" step="any" value={f.min ?? ''} onInput={(e) => setField(i, { min: numOrNull((e.currentTarget as HTMLInputElement).value) })} />
                        {errAt(`${at}.min`)}
                      </label>
                      <label>
                        {w('max')}
                        <input {...part(`${at}.max`)} type="number" step="any" value={f.max ?? ''} onInput={(e) => setField(i, { max: numOrNull((e.currentTarget as HTMLInputElement).value) })} />
                        {errAt(`${at}.max`)}
                      </label>
                    </div>
                  )}
                  {f.kind === 'text' && (
                    <label>
                      {w('maxChars')}
                      <input {...part(`${at}.max_chars`)} type="number" min={1} value={f.max_chars ?? ''} onInput={(e) => setField(i, { max_chars: numOrNull((e.currentTarget as HTMLInputElement).value) })} />
                      {errAt(`${at}.max_chars`)}
                    </label>
                  )}
                  {f.kind === 'attachment' && (
                    <div class="row">
                      <label>
                        {w('accept')}
                        <span class="hint"> {w('acceptHint')}</span>
                        <textarea
                          {...part(`${at}.accept`)}
                          rows={2}
                          value={(f.accept ?? []).join('\n')}
                          onInput={(e) => setField(i, { accept: (e.currentTarget as HTMLTextAreaElement).value.split('\n') })}
                        />
                        {errAt(`${at}.accept`)}
                      </label>
                      <label>
                        {w('maxMb')}
                        <input
                          {...part(`${at}.max_bytes`)}
                          type="number"
                          min={0}
                          step="any"
                          value={f.max_bytes != null ? f.max_bytes! / MB : ''}
                          onInput={(e) => {
                            const mb = numOrNull((e.currentTarget as HTMLInputElement).value);
                            setField(i, { max_bytes: mb == null ? null : Math.round(mb * MB) });
                          }}
                        />
                        {errAt(`${at}.max_bytes`)}
                      </label>
                    </div>
                  )}
                  {f.kind === 'situation' && (
                    <label>
                      {w('indicator')}
                      <select {...part(`${at}.indicator`)} value={f.indicator ?? ''} onChange={(e) => setField(i, { indicator: (e.currentTarget as HTMLSelectElement).value || null })}>
                        <option value="">{w('choose')}</option>
                        {[...new Set([...INDICATORS, ...(f.indicator ? [f.indicator] : [])])].map((x) => (
                          <option key={x} value={x}>
                            {indicatorName(x)}
                          </option>
                        ))}
                      </select>
                      {errAt(`${at}.indicator`)}
                    </label>
                  )}
                  <p class="buttons">
                    <button type="button" class="secondary" disabled={i === 0} onClick={() => move(i, -1)}>
                      {w('up', { n: i + 1 })}
                    </button>
                    <button type="button" class="secondary" disabled={i === def.fields.length - 1} onClick={() => move(i, 1)}>
                      {w('down', { n: i + 1 })}
                    </button>
                    <button type="button" class="secondary" onClick={() => change({ fields: def.fields.filter((_, j) => j !== i) })}>
                      {w('removeField', { n: i + 1 })}
                    </button>
                  </p>
                </fieldset>
              </li>
            );
          })}
        </ol>
        <button
          type="button"
          class="secondary"
          id="add-field"
          onClick={() => change({ fields: [...def.fields, { id: '', label: '', kind: 'text', required: false, help: '', options: [] }] })}
        >
          {w('addField')}
        </button>

        <h2>{w('schedule')}</h2>
        <div class="row">
          <label>
            {w('every')}
            <select {...part('schedule.every')} value={schedule.every} onChange={(e) => change({ schedule: { ...schedule, every: (e.currentTarget as HTMLSelectElement).value as Definition['schedule']['every'] } })}>
              {(['daily', 'weekly', 'monthly', 'stage'] as const).map((x) => (
                <option key={x} value={x}>
                  {w(`every.${x}`)}
                </option>
              ))}
            </select>
            {errAt('schedule.every')}
          </label>
          <label>
            {w('at')}
            <span class="hint"> {w('atHint')}</span>
            <input {...part('schedule.at')} value={schedule.at ?? '24:00'} inputMode="numeric" onInput={(e) => change({ schedule: { ...schedule, at: (e.currentTarget as HTMLInputElement).value } })} />
            {errAt('schedule.at')}
          </label>
          <label>
            {w('daysAfter')}
            <input {...part('schedule.days_after')} type="number" min={0} value={schedule.days_after ?? 0} onInput={(e) => change({ schedule: { ...schedule, days_after: Number((e.currentTarget as HTMLInputElement).value) || 0 } })} />
            {errAt('schedule.days_after')}
          </label>
        </div>
        {schedule.every === 'stage' && (
          <fieldset>
            <legend>{w('stages')}</legend>
            {errAt('schedule.stages')}
            <input type="hidden" id={inputId('schedule.stages')} />
            <ol class="field-list">
              {(schedule.stages ?? []).map((s, i) => {
                const at = `schedule.stages[${i}]`;
                const setStage = (x: Partial<typeof s>) => change({ schedule: { ...schedule, stages: (schedule.stages ?? []).map((y, j) => (j === i ? { ...y, ...x } : y)) } });
                return (
                  <li key={i} class="row">
                    <label>
                      {w('stageId')}
                      <input {...part(`${at}.id`)} value={s.id} onInput={(e) => setStage({ id: (e.currentTarget as HTMLInputElement).value })} />
                      {errAt(`${at}.id`)}
                    </label>
                    <label>
                      {w('stageName')}
                      <input {...part(`${at}.name`)} value={s.name} onInput={(e) => setStage({ name: (e.currentTarget as HTMLInputElement).value })} />
                      {errAt(`${at}.name`)}
                    </label>
                    <label>
                      {w('stageStatus')}
                      <select {...part(`${at}.status`)} value={s.status ?? ''} onChange={(e) => setStage({ status: (e.currentTarget as HTMLSelectElement).value || null })}>
                        <option value="">{w('noStatus')}</option>
                        {def.fields
                          .filter((f) => f.kind === 'choice' && f.id)
                          .map((f) => (
                            <option key={f.id} value={f.id}>
                              {f.label || f.id}
                            </option>
                          ))}
                      </select>
                      {errAt(`${at}.status`)}
                    </label>
                    <label>
                      {w('stageDue')}
                      <input {...part(`${at}.due`)} type="date" value={s.due} onInput={(e) => setStage({ due: (e.currentTarget as HTMLInputElement).value })} />
                      {errAt(`${at}.due`)}
                    </label>
                    <button type="button" class="secondary" onClick={() => change({ schedule: { ...schedule, stages: (schedule.stages ?? []).filter((_, j) => j !== i) } })}>
                      {w('removeStage', { n: i + 1 })}
                    </button>
                  </li>
                );
              })}
            </ol>
            <button type="button" class="secondary" onClick={() => change({ schedule: { ...schedule, stages: [...(schedule.stages ?? []), { id: '', name: '', due: '' }] } })}>
              {w('addStage')}
            </button>
          </fieldset>
        )}

        <h2>{w('filersTitle')}</h2>
        <fieldset>
          <legend>{w('levels')}</legend>
          {errAt('filers.levels')}
          <div class="checks">
            {LEVELS.map((l, i) => (
              <label class="check" key={l}>
                <input
                  type="checkbox"
                  id={i === 0 ? inputId('filers.levels') : undefined}
                  checked={(filers.levels ?? []).includes(l)}
                  onChange={(e) => {
                    const on = (e.currentTarget as HTMLInputElement).checked;
                    const levels = on ? [...(filers.levels ?? []), l] : (filers.levels ?? []).filter((x) => x !== l);
                    change({ filers: { ...filers, levels: LEVELS.filter((x) => levels.includes(x)) } });
                  }}
                />
                {w(`lvl.${l}`)}
              </label>
            ))}
          </div>
        </fieldset>
        <RegionsField id={inputId('filers.within')} label={w('filersWithin')} hint={w('filersWithinHint')} value={filers.within ?? []} onChange={(within) => change({ filers: { ...filers, within } })} />
        {errAt('filers.within')}
        <RegionsField id={inputId('filers.regions')} label={w('filersListed')} hint={w('filersListedHint')} value={filers.regions ?? []} onChange={(r) => change({ filers: { ...filers, regions: r } })} />
        {errAt('filers.regions')}

        <label>
          {w('filersUnits')}
          <span class="hint"> {w('filersUnitsHint')}</span>
          <textarea
            {...part('filers.units')}
            rows={2}
            value={(filers.units ?? []).join('\n')}
            onInput={(e) => change({ filers: { ...filers, units: (e.currentTarget as HTMLTextAreaElement).value.split('\n') } })}
          />
          {errAt('filers.units')}
        </label>
        <label>
          {w('note')}
          <input {...part('note')} value={note} onInput={(e) => setNote((e.currentTarget as HTMLInputElement).value)} />
          {errAt('note')}
        </label>
        {error && (
          <p class="err" role="alert">
            {error}
          </p>
        )}
        {bad && (
          <p class="err" role="alert">
            {w('fixPart', { part: bad.part })}
          </p>
        )}
        <p aria-live="polite" class="ok" id="editor-saved">
          {saved ?? ''}
        </p>
        <button type="submit" disabled={busy}>
          {busy ? w('saving') : w('saveTemplate')}
        </button>
      </form>
    </section>
  );
}

/** A field with only the parts its kind takes (a kind changed in the form
 * leaves the old kind's parts behind, which the API refuses). */
function forKind(f: Field): Field {
  const { options, min, max, max_chars, indicator, ...rest } = f;
  const out: Field = { ...rest };
  if (f.kind === 'choice') out.options = (options ?? []).map((o) => o.trim()).filter(Boolean);
  if (f.kind === 'number') Object.assign(out, min != null ? { min } : {}, max != null ? { max } : {});
  if (f.kind === 'text' && max_chars != null) out.max_chars = max_chars;
  if (f.kind === 'situation') out.indicator = indicator ?? null;
  if (f.kind !== 'attachment') for (const k of ['accept', 'max_bytes']) delete (out as Record<string, unknown>)[k];
  else {
    // only what is set: a node without file policies takes the field as before
    const accept = (f.accept ?? []).map((a) => a.trim()).filter(Boolean);
    const o = out as Record<string, unknown>;
    if (accept.length) o.accept = accept;
    else delete o.accept;
    if (f.max_bytes == null) delete o.max_bytes;
  }
  return out;
}

const MB = 1024 * 1024;

const numOrNull = (s: string) => (s.trim() === '' ? null : Number(s));
