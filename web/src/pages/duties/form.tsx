// The filing form of a template (LAPSITDA harian and any other), made from
// its definition: text, choice, number, date, region, attachment, and
// situation fields (aman, or incidents by ATHG category). The period and
// its deadline are the filer's own (WIB, WITA, WIT). Like the report form,
// every filing goes through the outbox (offline/outbox.ts) with the
// Idempotency-Key made when the form was opened and `reported_at` from when
// the filer pressed send; with no connection it waits and goes out later.
// A province drafts its filing from its regencies' filings, then edits it.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, errorText, me } from '../../api/client';
import { age, formatTime, regionName, regions } from '../../lib/regions';
import { file, newKey, sent, type Outcome, type Sent } from '../../offline/outbox';
import { size } from '../reports/attachments';
import { currentPeriod, deadline, deadlineText, lastDay, periodName } from './period';
import { cached, fileableRegions, getJson, loadTemplates, partOf, type Field, type Template } from './shared';
import { w } from './words';

const CATEGORIES = ['ancaman', 'tantangan', 'hambatan', 'gangguan'] as const;
type Incident = { category: string; text: string };
type Situation = { status: 'aman' } | { status: 'athg'; incidents: Incident[] };
type Values = Record<string, unknown>;

/** The answers without empty ones (nor hidden ones), as the API takes them. */
function cleaned(template: Template, values: Values, hidden: Set<string>): Values {
  const out: Values = {};
  for (const f of template.fields) {
    if (hidden.has(f.id)) continue;
    const v = values[f.id];
    if (v === undefined || v === null || v === '' || f.kind === 'attachment') continue;
    if (f.kind === 'number') out[f.id] = Number(v);
    else out[f.id] = v;
  }
  return out;
}

/** The first problem the form can see before sending: [field id, message]. */
function problem(template: Template, values: Values, files: Record<string, File>): [string, string] | null {
  for (const f of template.fields) {
    const v = values[f.id];
    if (f.kind === 'attachment') {
      if (f.required && !files[f.id]) return [f.id, w('required')];
      continue;
    }
    if (f.kind === 'situation') {
      const s = v as Situation | undefined;
      if (!s) {
        if (f.required) return [f.id, w('chooseSituation')];
        continue;
      }
      if (s.status === 'athg') {
        if (!s.incidents.length) return [f.id, w('needIncident')];
        if (s.incidents.some((i) => !i.text.trim())) return [f.id, w('incidentText')];
      }
      continue;
    }
    if (f.required && (v === undefined || v === null || String(v).trim() === '')) return [f.id, w('required')];
    if (f.kind === 'number' && v !== undefined && v !== '' && !Number.isFinite(Number(v))) return [f.id, w('notNumber')];
  }
  return null;
}

export function FilingForm({ id }: { id: string }) {
  const account = me.value!;
  const scope = account.regions ?? [];
  const [template, setTemplate] = useState<Template | null>(() => cached().find((t) => t.id === id) ?? null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [key, setKey] = useState(newKey);
  const [region, setRegion] = useState('');
  const [unit, setUnit] = useState('');
  const [unitNames, setUnitNames] = useState<Record<string, string>>({});
  const [period, setPeriod] = useState('');
  const [values, setValues] = useState<Values>({});
  const [files, setFiles] = useState<Record<string, File>>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [draft, setDraft] = useState<{ busy: boolean; text?: string; err?: boolean }>({ busy: false });
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [pendingKey, setPendingKey] = useState<string | null>(null);
  const result = useRef<HTMLDivElement>(null);

  useEffect(() => {
    loadTemplates().then((got) => {
      const found = got.templates.find((t) => t.id === id);
      if (found) setTemplate(found);
      else if (!got.offline) setLoadError(got.error ?? w('noTemplate'));
    });
  }, [id]);

  const units = template ? (template.filers.units ?? []) : [];
  // a template of units is filed from one of the account's own regions
  const mine = template ? (units.length ? [...new Set([...fileableRegions(template.filers, scope), ...scope])] : fileableRegions(template.filers, scope)) : [];
  useEffect(() => {
    if (!units.length) return;
    getJson<{ units: { id: string; name: string }[] }>('/api/v1/units').then((r) =>
      setUnitNames(Object.fromEntries((r.data?.units ?? []).map((u) => [u.id, u.name]))),
    );
  }, [units.join(',')]);
  useEffect(() => {
    if (template && !region && mine.length) setRegion(mine[0]);
  }, [template, mine.join(',')]);
  useEffect(() => {
    if (template && region) setPeriod((p) => p || currentPeriod(template.schedule, region));
  }, [template, region]);
  useEffect(() => {
    if (outcome) result.current?.focus();
  }, [outcome]);

  if (loadError) return <p role="alert" class="err">{loadError}</p>;
  if (!template) return <p aria-busy="true">{w('loading')}</p>;
  const schedule = template.schedule;

  const set = (fid: string, v: unknown) => {
    setValues((now) => ({ ...now, [fid]: v }));
    setError(null);
    setErrors((now) => {
      const { [fid]: _, ...rest } = now;
      return rest;
    });
  };

  const reset = () => {
    setKey(newKey());
    setValues({});
    setFiles({});
    setErrors({});
    setError(null);
    setOutcome(null);
    setPendingKey(null);
    setDraft({ busy: false });
  };

  const fromChildren = async () => {
    setDraft({ busy: true });
    try {
      const { data, error: e, response } = await api.GET('/api/v1/templates/{id}/draft', { params: { path: { id }, query: { period, region } } });
      if (!data) return setDraft({ busy: false, err: true, text: errorText(e, response.status) });
      setValues(data.values as Values);
      setErrors({});
      const missing = data.missing.map((c) => regionName(String(c)));
      setDraft({
        busy: false,
        text: w('drafted', { n: data.from.length }) + (missing.length ? ' ' + w('draftMissing', { names: missing.join(', ') }) : ''),
      });
    } catch {
      setDraft({ busy: false, err: true, text: w('draftOffline') });
    }
  };

  /** Shows the API's refusal at the field it names, else above the button. */
  const refused = (message: string) => {
    const p = partOf(message);
    const fid = p?.part.startsWith('values.') || p?.part.startsWith('files.') ? p.part.split(/[.[]/)[1] : null;
    if (p && fid && template.fields.some((f) => f.id === fid)) {
      setErrors({ [fid]: p.message });
      document.getElementById(`field-${fid}`)?.focus();
      setError(w('fixField'));
    } else setError(w('refused', { message }));
  };

  // a stage's filing gives its own status (required), not the other stages'
  const stageStatus = (st: { status?: string | null } | undefined) => st?.status ?? '';
  const hiddenNow = () =>
    new Set(schedule.every === 'stage' ? (schedule.stages ?? []).filter((st) => st.id !== period).map(stageStatus).filter(Boolean) : []);
  const ownStatusNow = () => (schedule.every === 'stage' ? stageStatus(schedule.stages?.find((st) => st.id === period)) : '');

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    // when the filer pressed send, kept however late it goes out
    const reportedAt = new Date().toISOString();
    const hidden = hiddenNow();
    const own = ownStatusNow();
    const found = problem(
      { ...template, fields: template.fields.filter((f) => !hidden.has(f.id)).map((f) => (f.id === own ? { ...f, required: true } : f)) },
      values,
      files,
    );
    if (!region || !period) {
      setError(w('needRegion'));
      return;
    }
    if (found) {
      setErrors({ [found[0]]: found[1] });
      setError(w('fixField'));
      document.getElementById(`field-${found[0]}`)?.focus();
      return;
    }
    setErrors({});
    setBusy(true);
    try {
      const got = await file({
        key,
        account: account.name,
        created: reportedAt,
        submission: { text: `${template.name} · ${periodName(schedule, period, w('week'))}`, region, reported_at: reportedAt },
        filing: {
          template: id,
          body: { period, region, ...(unit ? { unit } : {}), version: template.version, values: cleaned(template, values, hiddenNow()), reported_at: reportedAt },
        },
        files: Object.entries(files).map(([field, f]) => ({ field, name: f.name, type: f.type, blob: f })),
      });
      if (got.kind === 'refused') {
        refused(got.message);
        setKey(newKey());
      } else {
        setOutcome(got);
        setPendingKey(key);
      }
    } catch (err) {
      setError(String(err));
    } finally {
      setBusy(false);
    }
  };

  const later = pendingKey ? sent.value.find((s) => s.key === pendingKey) : undefined;
  const done: Sent | undefined = outcome?.kind === 'sent' ? outcome.sent : later;
  if (outcome) {
    return (
      <section aria-labelledby="result-title">
        <div ref={result} tabIndex={-1} class="card result">
          {done ? (
            <FilingReceipt sent={done} template={template} region={region} />
          ) : (
            <div class="waiting" role="status">
              <h1 id="result-title">{w('waitingTitle')}</h1>
              <p>{outcome.kind === 'waiting' && outcome.why === 'signin' ? w('waitingSignin') : w('waitingText')}</p>
              <p class="meta">{w('keptAt', { time: formatTime(new Date().toISOString(), region) })}</p>
            </div>
          )}
          <p class="row">
            <button type="button" class="secondary" onClick={reset}>
              {w('another')}
            </button>
            <a href={`#/compliance?template=${id}&period=${period}`}>{w('seeCompliance')}</a>
          </p>
        </div>
      </section>
    );
  }

  const due = region && period ? deadline(schedule, period, region) : null;
  const otherStages = hiddenNow();
  const ownStatus = ownStatusNow();
  const level = regions.value.get(region)?.level;
  return (
    <section aria-labelledby="form-title" class="duty-form">
      <p>
        <a href="#/duties">{w('back')}</a>
      </p>
      <h1 id="form-title">{template.name}</h1>
      {template.description && <p class="sub">{template.description}</p>}
      <form class="stack" onSubmit={submit} noValidate>
        {mine.length > 1 ? (
          <label>
            {w('regionFor')}
            <select id="filing-region" value={region} onChange={(e) => setRegion((e.currentTarget as HTMLSelectElement).value)}>
              {mine.map((c) => (
                <option key={c} value={c}>
                  {regionName(c)}
                </option>
              ))}
            </select>
          </label>
        ) : (
          <p>
            <strong>{w('regionFor')}:</strong> <span id="filing-region">{region || mine[0] ? regionName(region || mine[0]) : w('noRegion')}</span>
          </p>
        )}
        {units.length > 0 && (
          <label>
            {w('unitFor')}
            <span class="hint"> {w('unitHint')}</span>
            <select id="filing-unit" value={unit} onChange={(e) => setUnit((e.currentTarget as HTMLSelectElement).value)}>
              <option value="">{w('noUnit')}</option>
              {units.map((u) => (
                <option key={u} value={u}>
                  {unitNames[u] ?? u}
                </option>
              ))}
            </select>
          </label>
        )}
        <PeriodInput template={template} value={period} onChange={setPeriod} />
        {due && (
          <p class={due.getTime() < Date.now() ? 'note' : 'meta'} id="deadline">
            {w('deadline', { time: deadlineText(schedule, period, region) })}{' '}
            {due.getTime() < Date.now() ? w('pastDeadline') : w('left', { when: age(due.toISOString()) })}
          </p>
        )}
        {(level === 'province' || (!region && scope.length === 0)) && region && (
          <div class="card draft">
            <p>{w('draftHint')}</p>
            <button type="button" class="secondary" id="draft" onClick={fromChildren} disabled={draft.busy}>
              {draft.busy ? w('drafting') : w('draft')}
            </button>
            <p aria-live="polite" class={draft.err ? 'err' : 'ok'} id="draft-result">
              {draft.text ?? ''}
            </p>
          </div>
        )}
        {template.fields.filter((f) => !otherStages.has(f.id)).map((f) => (
          <FieldInput
            key={f.id}
            field={ownStatus === f.id ? { ...f, required: true } : f}
            value={values[f.id]}
            file={files[f.id]}
            error={errors[f.id]}
            region={region}
            onChange={(v) => set(f.id, v)}
            onFile={(fl) =>
              setFiles((now) => {
                const { [f.id]: _, ...rest } = now;
                return fl ? { ...rest, [f.id]: fl } : rest;
              })
            }
          />
        ))}
        {error && (
          <p class="err" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="send" disabled={busy || !region}>
          {busy ? w('sending') : w('send')}
        </button>
      </form>
    </section>
  );
}

/** The period: a day, an ISO week, a month, or a stage. */
function PeriodInput({ template, value, onChange }: { template: Template; value: string; onChange: (v: string) => void }) {
  const s = template.schedule;
  const onInput = (e: Event) => onChange((e.currentTarget as HTMLInputElement).value);
  if (s.every === 'stage') {
    return (
      <label>
        {w('stage')}
        <select id="period" value={value} onChange={onInput}>
          {(s.stages ?? []).map((st) => (
            <option key={st.id} value={st.id}>
              {st.name}
            </option>
          ))}
        </select>
      </label>
    );
  }
  const type = s.every === 'daily' ? 'date' : s.every === 'weekly' ? 'week' : 'month';
  return (
    <label>
      {w(`period.${s.every}` as 'period.daily')}
      <span class="hint"> {value && lastDay(s, value) ? periodName(s, value, w('week')) : ''}</span>
      <input id="period" type={type} value={value} onInput={onInput} />
    </label>
  );
}

type FieldProps = {
  field: Field;
  value: unknown;
  file?: File;
  error?: string;
  region: string;
  onChange: (v: unknown) => void;
  onFile: (f: File | null) => void;
};

function FieldInput({ field: f, value, file: chosen, error, region, onChange, onFile }: FieldProps) {
  const fid = `field-${f.id}`;
  const described = [f.help ? `${fid}-help` : '', error ? `${fid}-err` : ''].filter(Boolean).join(' ') || undefined;
  const label = (
    <>
      {f.label}
      {f.required ? <span class="req"> ({w('requiredMark')})</span> : null}
    </>
  );
  const help = f.help ? (
    <span class="hint" id={`${fid}-help`}>
      {' '}
      {f.help}
    </span>
  ) : null;
  const err = error ? (
    <span class="err field-err" id={`${fid}-err`}>
      {error}
    </span>
  ) : null;
  const str = value === undefined || value === null ? '' : String(value);
  const text = (e: Event) => onChange((e.currentTarget as HTMLInputElement).value);
  const common = { id: fid, name: f.id, 'aria-invalid': !!error, 'aria-describedby': described };
  switch (f.kind) {
    case 'situation':
      return <SituationInput field={f} value={value as Situation | undefined} error={error} onChange={onChange} />;
    case 'text':
      return (
        <label>
          {label}
          {help}
          <textarea {...common} rows={3} maxLength={f.max_chars ?? 4000} value={str} onInput={text} />
          {err}
        </label>
      );
    case 'choice':
    case 'region': {
      // a region field takes the filing's region or one directly below it
      const options: [string, string][] =
        f.kind === 'choice'
          ? (f.options ?? []).map((o) => [o, o])
          : [...regions.value.values()].filter((r) => r.code === region || r.parent === region).map((r) => [r.code, r.name]);
      return (
        <label>
          {label}
          {help}
          <select {...common} value={str} onChange={text}>
            <option value="">{w('choose')}</option>
            {options.map(([v, name]) => (
              <option key={v} value={v}>
                {name}
              </option>
            ))}
          </select>
          {err}
        </label>
      );
    }
    case 'number':
      return (
        <label>
          {label}
          {help}
          <input {...common} type="number" inputMode="decimal" step="any" min={f.min ?? undefined} max={f.max ?? undefined} value={str} onInput={text} />
          {err}
        </label>
      );
    case 'date':
      return (
        <label>
          {label}
          {help}
          <input {...common} type="date" value={str} onInput={text} />
          {err}
        </label>
      );
    case 'attachment': {
      const policy = f;
      const accept = policy.accept?.length ? policy.accept.join(',') : 'image/*,application/pdf,.pdf,.doc,.docx,.odt,.xls,.xlsx,.ods,.txt';
      const tooBig = chosen && policy.max_bytes != null && chosen.size > policy.max_bytes;
      return (
        <div class="attach">
          <label for={fid}>
            {label}
            {help}
          </label>
          <input
            {...common}
            type="file"
            accept={accept}
            onChange={(e) => onFile((e.currentTarget as HTMLInputElement).files?.[0] ?? null)}
          />
          {chosen && (
            <p class="meta">
              {chosen.name} ({size(chosen.size)}){' '}
              <button type="button" class="link" onClick={() => onFile(null)}>
                {w('removeFile', { name: chosen.name })}
              </button>
            </p>
          )}
          {tooBig && <span class="err field-err">{w('tooBig', { max: size(policy.max_bytes!) })}</span>}
          {err}
        </div>
      );
    }
  }
  return null;
}

/** Aman/kondusif, or incidents by ATHG category. */
function SituationInput({ field: f, value, error, onChange }: { field: Field; value?: Situation; error?: string; onChange: (v: Situation) => void }) {
  const fid = `field-${f.id}`;
  const incidents = value?.status === 'athg' ? value.incidents : [];
  const setIncidents = (list: Incident[]) => onChange({ status: 'athg', incidents: list });
  return (
    <fieldset class={`situation${error ? ' invalid' : ''}`} aria-describedby={error ? `${fid}-err` : undefined}>
      <legend>
        {f.label}
        {f.required ? <span class="req"> ({w('requiredMark')})</span> : null}
      </legend>
      <div class="checks" role="radiogroup" aria-label={f.label}>
        <label class="check">
          <input
            type="radio"
            id={fid}
            name={f.id}
            value="aman"
            checked={value?.status === 'aman'}
            aria-invalid={!!error}
            onChange={() => onChange({ status: 'aman' })}
          />
          {w('aman')}
        </label>
        <label class="check">
          <input
            type="radio"
            id={`${fid}-athg`}
            name={f.id}
            value="athg"
            checked={value?.status === 'athg'}
            onChange={() => setIncidents(incidents.length ? incidents : [{ category: 'gangguan', text: '' }])}
          />
          {w('athg')}
        </label>
      </div>
      {value?.status === 'athg' && (
        <ol class="incidents">
          {incidents.map((inc, i) => (
            <li key={i} class="incident">
              <label>
                {w('category')}
                <select
                  id={`${fid}-cat-${i}`}
                  value={inc.category}
                  onChange={(e) => setIncidents(incidents.map((x, j) => (j === i ? { ...x, category: (e.currentTarget as HTMLSelectElement).value } : x)))}
                >
                  {CATEGORIES.map((c) => (
                    <option key={c} value={c}>
                      {w(`cat.${c}`)}
                    </option>
                  ))}
                </select>
              </label>
              <label>
                {w('incidentWhat', { n: i + 1 })}
                <textarea
                  id={`${fid}-text-${i}`}
                  rows={3}
                  maxLength={2000}
                  value={inc.text}
                  onInput={(e) => setIncidents(incidents.map((x, j) => (j === i ? { ...x, text: (e.currentTarget as HTMLTextAreaElement).value } : x)))}
                />
              </label>
              <button type="button" class="link" onClick={() => (incidents.length > 1 ? setIncidents(incidents.filter((_, j) => j !== i)) : onChange({ status: 'aman' }))}>
                {w('removeIncident', { n: i + 1 })}
              </button>
            </li>
          ))}
          <li>
            <button type="button" class="secondary" onClick={() => setIncidents([...incidents, { category: 'gangguan', text: '' }])}>
              {w('addIncident')}
            </button>
          </li>
        </ol>
      )}
      {f.help && <p class="hint">{f.help}</p>}
      {error && (
        <p class="err field-err" id={`${fid}-err`}>
          {error}
        </p>
      )}
    </fieldset>
  );
}

/** The receipt: the number, whether it was on time, links onward. */
function FilingReceipt({ sent: s, template, region }: { sent: Sent; template: Template; region: string }) {
  const period = s.filing?.period ?? '';
  return (
    <div class="receipt">
      <h1 id="result-title">{w('receiptTitle', { name: template.name })}</h1>
      <p class="meta">{w('receiptNumber')}</p>
      <p class="receipt-number" id="receipt-number">
        {s.receipt}
      </p>
      <p id="receipt-status" class={s.filing?.on_time === false ? 'err' : 'ok'}>
        {periodName(template.schedule, period, w('week'))} · {regionName(region)} ·{' '}
        {s.filing?.on_time === false ? w('late') : w('onTime')}
      </p>
      <p class="meta">{w('receivedAt', { time: formatTime(s.at, region) })}</p>
      <p>
        <a href={`#/reports/${s.id}`}>{w('openReport')}</a>
      </p>
    </div>
  );
}
