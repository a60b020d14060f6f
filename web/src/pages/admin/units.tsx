// Responsible units within the admin's regions: who hears of which
// alerts (regions, indicators, lowest level), how (emails, phones, in
// which language), when someone is on duty, and the parent unit they
// escalate to.
import { useEffect, useState } from 'preact/hooks';
import { api, errorText, me, type Schemas } from '../../api/client';
import { indicatorName, lang, levelName, words } from '../../i18n';
import { regionName } from '../../lib/regions';
import { RegionsField, within } from '../search/fields';
import { FieldError, FormError, Head, type Problem, Said, invalid, problemOf } from './form';

const t = words({
  id: {
    title: 'Unit penanggung jawab',
    name: 'Nama unit',
    regions: 'Wilayah',
    indicators: 'Indikator',
    allIndicators: 'Semua indikator',
    minLevel: 'Tingkat terendah yang diberitahukan',
    emails: 'Email (satu per baris)',
    phones: 'Nomor ponsel untuk SMS (satu per baris)',
    contacts: 'Kontak',
    parent: 'Unit induk (eskalasi)',
    noParent: 'Tanpa induk',
    hours: 'Jam kerja',
    always: 'Selalu siaga (24 jam)',
    hasHours: 'Hanya pada jam kerja tertentu',
    hoursHint: 'Di luar jam kerja, unit induk langsung ikut diberi tahu.',
    days: 'Hari kerja',
    from: 'Mulai',
    to: 'Selesai',
    zone: 'Zona waktu',
    zoneAuto: 'Sesuai wilayah pertama',
    language: 'Bahasa pemberitahuan',
    'language.id': 'Bahasa Indonesia',
    'language.en': 'Bahasa Inggris',
    create: 'Tambah unit',
    createTitle: 'Unit baru',
    editTitle: 'Ubah {name}',
    edit: 'Ubah {name}',
    change: 'Ubah atau hapus',
    save: 'Simpan',
    cancel: 'Batal',
    remove: 'Hapus {name}',
    removed: 'Unit {name} dihapus.',
    confirmRemove: 'Hapus unit {name}? Unit ini tidak akan menerima pemberitahuan lagi.',
    saved: 'Unit {name} disimpan.',
    none: 'Belum ada unit.',
    regionsEmpty: 'Pilih setidaknya satu wilayah.',
    day1: 'Sen', day2: 'Sel', day3: 'Rab', day4: 'Kam', day5: 'Jum', day6: 'Sab', day7: 'Min',
    hoursText: '{days}, {from}–{to}',
  },
  en: {
    title: 'Responsible units',
    name: 'Unit name',
    regions: 'Regions',
    indicators: 'Indicators',
    allIndicators: 'Every indicator',
    minLevel: 'Lowest level notified',
    emails: 'Emails (one a line)',
    phones: 'Mobile numbers for SMS (one a line)',
    contacts: 'Contacts',
    parent: 'Parent unit (escalation)',
    noParent: 'No parent',
    hours: 'Working hours',
    always: 'Always on duty (24 hours)',
    hasHours: 'Only in set working hours',
    hoursHint: 'Outside working hours the parent unit is told at once as well.',
    days: 'Working days',
    from: 'From',
    to: 'Until',
    zone: 'Time zone',
    zoneAuto: 'That of the first region',
    language: 'Language of notifications',
    'language.id': 'Indonesian',
    'language.en': 'English',
    create: 'Add the unit',
    createTitle: 'New unit',
    editTitle: 'Change {name}',
    edit: 'Change {name}',
    change: 'Change or remove',
    save: 'Save',
    cancel: 'Cancel',
    remove: 'Remove {name}',
    removed: 'Unit {name} removed.',
    confirmRemove: 'Remove unit {name}? It will receive no more notifications.',
    saved: 'Unit {name} saved.',
    none: 'No units yet.',
    regionsEmpty: 'Choose at least one region.',
    day1: 'Mon', day2: 'Tue', day3: 'Wed', day4: 'Thu', day5: 'Fri', day6: 'Sat', day7: 'Sun',
    hoursText: '{days}, {from}–{to}',
  },
});

type Unit = Schemas['Unit'];
type Level = Schemas['Level'];
const FIELDS = ['name', 'regions', 'indicators', 'emails', 'phones', 'parent', 'working_hours', 'time_zone', 'language'] as const;
const LEVELS: Level[] = ['waspada', 'siaga', 'awas'];
const DAYS = [1, 2, 3, 4, 5, 6, 7];
const dayName = (d: number) => t(`day${d}` as Parameters<typeof t>[0]);
const value = (e: Event) => (e.currentTarget as HTMLInputElement).value;
const lines = (s: string) => s.split(/[\n,]/).map((x) => x.trim()).filter(Boolean);

type Form = {
  name: string;
  regions: string[];
  indicators: string[];
  min_level: Level;
  emails: string;
  phones: string;
  parent: string;
  hours: boolean;
  days: number[];
  from: string;
  to: string;
  time_zone: string;
  language: string;
};

const formOf = (u: Unit | null, scope: string[]): Form => ({
  name: u?.name ?? '',
  regions: u ? u.regions.map(String) : scope.length === 1 ? [...scope] : [],
  indicators: u?.indicators ?? [],
  min_level: u?.min_level ?? 'waspada',
  emails: (u?.emails ?? []).join('\n'),
  phones: (u?.phones ?? []).join('\n'),
  parent: u?.parent ?? '',
  hours: !!u?.working_hours,
  days: u?.working_hours?.days ?? [1, 2, 3, 4, 5],
  from: u?.working_hours?.from ?? '08:00',
  to: u?.working_hours?.to ?? '16:00',
  time_zone: u?.time_zone ?? '',
  language: u?.language ?? 'id',
});

function UnitForm(props: { unit: Unit | null; units: Unit[]; indicators: string[]; scope: string[]; onDone: (message: string) => void; onCancel?: () => void }) {
  const [form, setForm] = useState<Form>(formOf(props.unit, props.scope));
  const [problem, setProblem] = useState<Problem | null>(null);
  const id = props.unit ? `unit-${props.unit.id}` : 'new-unit';
  const set = (change: Partial<Form>) => setForm({ ...form, ...change });
  const submit = async (e: Event) => {
    e.preventDefault();
    const body: Schemas['NewUnit'] = {
      name: form.name.trim(),
      regions: form.regions,
      indicators: form.indicators,
      min_level: form.min_level,
      emails: lines(form.emails),
      phones: lines(form.phones),
      parent: form.parent || undefined,
      working_hours: form.hours ? { days: form.days, from: form.from, to: form.to } : undefined,
      time_zone: form.time_zone || undefined,
      language: form.language || undefined,
    };
    const answer = props.unit
      ? await api.PUT('/api/v1/units/{id}', { params: { path: { id: props.unit.id } }, body })
      : await api.POST('/api/v1/units', { body });
    if (!answer.data) return setProblem(problemOf(answer.error, answer.response.status, FIELDS));
    setProblem(null);
    if (!props.unit) setForm(formOf(null, props.scope));
    props.onDone(t('saved', { name: answer.data.name }));
  };
  const parents = props.units.filter((u) => u.id !== props.unit?.id);
  return (
    <form id={id} class="card stack" onSubmit={submit}>
      <h3>{props.unit ? t('editTitle', { name: props.unit.name }) : t('createTitle')}</h3>
      <div>
        <label for={`${id}-name`}>{t('name')}</label>
        <input id={`${id}-name`} required value={form.name} onInput={(e) => set({ name: value(e) })} {...invalid(id, 'name', problem)} />
        <FieldError form={id} field="name" problem={problem} />
      </div>
      <RegionsField id={`${id}-regions`} label={t('regions')} value={form.regions} scope={props.scope} emptyText={t('regionsEmpty')} onChange={(regions) => set({ regions })} />
      <FieldError form={id} field="regions" problem={problem} />
      <fieldset>
        <legend>{t('indicators')}</legend>
        <p class="hint">{form.indicators.length ? '' : t('allIndicators')}</p>
        <div class="checks">
          {props.indicators.map((i) => (
            <label key={i} class="check">
              <input
                type="checkbox"
                checked={form.indicators.includes(i)}
                onChange={(e) => set({ indicators: (e.currentTarget as HTMLInputElement).checked ? [...form.indicators, i] : form.indicators.filter((x) => x !== i) })}
              />{' '}
              {indicatorName(i)}
            </label>
          ))}
        </div>
        <FieldError form={id} field="indicators" problem={problem} />
      </fieldset>
      <div class="row">
        <label>
          {t('minLevel')}
          <select value={form.min_level} onChange={(e) => set({ min_level: value(e) as Level })}>
            {LEVELS.map((l) => (
              <option key={l} value={l}>
                {levelName(l)}
              </option>
            ))}
          </select>
        </label>
        <div>
          <label for={`${id}-parent`}>{t('parent')}</label>
          <select id={`${id}-parent`} value={form.parent} onChange={(e) => set({ parent: value(e) })} {...invalid(id, 'parent', problem)}>
            <option value="">{t('noParent')}</option>
            {parents.map((u) => (
              <option key={u.id} value={u.id}>
                {u.name}
              </option>
            ))}
          </select>
          <FieldError form={id} field="parent" problem={problem} />
        </div>
      </div>
      <div class="row">
        <div>
          <label for={`${id}-emails`}>{t('emails')}</label>
          <textarea id={`${id}-emails`} value={form.emails} onInput={(e) => set({ emails: value(e) })} {...invalid(id, 'emails', problem)} />
          <FieldError form={id} field="emails" problem={problem} />
        </div>
        <div>
          <label for={`${id}-phones`}>{t('phones')}</label>
          <textarea id={`${id}-phones`} value={form.phones} onInput={(e) => set({ phones: value(e) })} {...invalid(id, 'phones', problem)} />
          <FieldError form={id} field="phones" problem={problem} />
        </div>
      </div>
      <fieldset>
        <legend>{t('hours')}</legend>
        <label class="check">
          <input type="radio" name={`${id}-hours`} checked={!form.hours} onChange={() => set({ hours: false })} /> {t('always')}
        </label>
        <label class="check">
          <input type="radio" name={`${id}-hours`} checked={form.hours} onChange={() => set({ hours: true })} /> {t('hasHours')}
        </label>
        <p class="hint">{t('hoursHint')}</p>
        {form.hours && (
          <>
            <fieldset>
              <legend>{t('days')}</legend>
              <div class="checks">
                {DAYS.map((d) => (
                  <label key={d} class="check">
                    <input
                      type="checkbox"
                      checked={form.days.includes(d)}
                      onChange={(e) => set({ days: (e.currentTarget as HTMLInputElement).checked ? [...form.days, d].sort() : form.days.filter((x) => x !== d) })}
                    />{' '}
                    {dayName(d)}
                  </label>
                ))}
              </div>
            </fieldset>
            <div class="row">
              <label>
                {t('from')}
                <input type="time" required value={form.from} onInput={(e) => set({ from: value(e) })} />
              </label>
              <label>
                {t('to')}
                <input type="time" required value={form.to} onInput={(e) => set({ to: value(e) })} />
              </label>
              <label>
                {t('zone')}
                <select value={form.time_zone} onChange={(e) => set({ time_zone: value(e) })}>
                  <option value="">{t('zoneAuto')}</option>
                  <option value="WIB">WIB (UTC+7)</option>
                  <option value="WITA">WITA (UTC+8)</option>
                  <option value="WIT">WIT (UTC+9)</option>
                </select>
              </label>
            </div>
          </>
        )}
        <FieldError form={id} field="working_hours" problem={problem} />
      </fieldset>
      <label>
        {t('language')}
        <select value={form.language} onChange={(e) => set({ language: value(e) })}>
          <option value="id">{t('language.id')}</option>
          <option value="en">{t('language.en')}</option>
        </select>
      </label>
      <FormError form={id} problem={problem} fields={FIELDS} />
      <div class="row">
        <button type="submit">{props.unit ? t('save') : t('create')}</button>
        {props.onCancel && (
          <button type="button" class="secondary" onClick={props.onCancel}>
            {t('cancel')}
          </button>
        )}
      </div>
    </form>
  );
}

export default function Units() {
  lang.value;
  const [units, setUnits] = useState<Unit[] | null>(null);
  const [indicators, setIndicators] = useState<string[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const scope = (me.value?.regions ?? []).map(String);
  const load = () =>
    api.GET('/api/v1/units').then(({ data, error, response }) => (data ? setUnits(data.units) : setError(errorText(error, response.status))));
  useEffect(() => {
    load();
    api.GET('/api/v1/rules').then(({ data }) => data && setIndicators(data.indicators));
  }, []);
  const finished = (message: string) => {
    setDone(message);
    setEditing(null);
    load();
  };
  const remove = async (u: Unit) => {
    if (!window.confirm(t('confirmRemove', { name: u.name }))) return;
    const { error, response } = await api.DELETE('/api/v1/units/{id}', { params: { path: { id: u.id } } });
    if (!response.ok) return setError(problemOf(error, response.status, []).text || errorText(error, response.status));
    setError(null);
    finished(t('removed', { name: u.name }));
  };
  const names = new Map((units ?? []).map((u) => [u.id, u.name]));
  const hoursText = (u: Unit) =>
    u.working_hours
      ? t('hoursText', { days: (u.working_hours.days ?? [1, 2, 3, 4, 5]).map(dayName).join(' '), from: u.working_hours.from, to: u.working_hours.to }) + (u.time_zone ? ` ${u.time_zone}` : '')
      : t('always');
  const mine = (u: Unit) => u.regions.every((r) => within(String(r), scope));
  const edited = units?.find((u) => u.id === editing);
  return (
    <>
      <h2>{t('title')}</h2>
      <Said error={error} done={done} />
      {units && units.length === 0 && <p>{t('none')}</p>}
      {units && units.length > 0 && (
        <div class="table-wrap">
          <table id="units">
            <Head cols={[t('name'), t('regions'), t('indicators'), t('contacts'), t('parent'), t('hours')]} actions={t('change')} />
            <tbody>
              {units.map((u) => (
                <tr key={u.id}>
                  <th scope="row">
                    {u.name}
                    <div class="meta">
                      {levelName(u.min_level ?? 'waspada')}+ · {u.language === 'en' ? t('language.en') : t('language.id')}
                    </div>
                  </th>
                  <td>{u.regions.map((r) => regionName(r)).join(', ')}</td>
                  <td>{u.indicators?.length ? u.indicators.map(indicatorName).join(', ') : t('allIndicators')}</td>
                  <td>{[...(u.emails ?? []), ...(u.phones ?? [])].join(', ')}</td>
                  <td>{u.parent ? (names.get(u.parent) ?? u.parent) : t('noParent')}</td>
                  <td>{hoursText(u)}</td>
                  <td class="actions">
                    {mine(u) && (
                      <>
                        <button type="button" class="link" onClick={() => setEditing(u.id)}>
                          {t('edit', { name: u.name })}
                        </button>
                        <button type="button" class="link" onClick={() => remove(u)}>
                          {t('remove', { name: u.name })}
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {edited && <UnitForm key={edited.id} unit={edited} units={units ?? []} indicators={indicators} scope={scope} onDone={finished} onCancel={() => setEditing(null)} />}
      <UnitForm unit={null} units={units ?? []} indicators={indicators} scope={scope} onDone={finished} />
    </>
  );
}
