// Silences within the admin's regions: alerts still raised and shown, but
// nobody notified, until a time (a known situation being handled, a drill).
import { useEffect, useState } from 'preact/hooks';
import { api, errorText, me, type Schemas } from '../../api/client';
import { indicatorName, lang, words } from '../../i18n';
import { formatTime, regionName } from '../../lib/regions';
import { RegionPicker } from '../search/fields';
import { FieldError, FormError, Head, type Problem, Said, invalid, problemOf } from './form';

const t = words({
  id: {
    title: 'Penangguhan pemberitahuan',
    intro: 'Selama ditangguhkan, peringatan tetap muncul di papan pantau tetapi tidak ada email atau SMS yang dikirim.',
    indicator: 'Indikator',
    all: 'Semua indikator',
    region: 'Wilayah',
    until: 'Sampai',
    reason: 'Alasan',
    by: 'Oleh',
    for: 'Lamanya',
    h1: '1 jam',
    h4: '4 jam',
    h12: '12 jam',
    d1: '1 hari',
    d3: '3 hari',
    d7: '7 hari',
    d30: '30 hari',
    create: 'Tangguhkan',
    createTitle: 'Penangguhan baru',
    created: 'Pemberitahuan ditangguhkan sampai {until}.',
    end: 'Akhiri penangguhan {what}',
    ended: 'Penangguhan diakhiri.',
    ending: 'Akhiri',
    none: 'Tidak ada penangguhan yang berlaku.',
  },
  en: {
    title: 'Silenced notifications',
    intro: 'While silenced, alerts still show on the board but no email or SMS is sent.',
    indicator: 'Indicator',
    all: 'Every indicator',
    region: 'Region',
    until: 'Until',
    reason: 'Reason',
    by: 'By',
    for: 'For',
    h1: '1 hour',
    h4: '4 hours',
    h12: '12 hours',
    d1: '1 day',
    d3: '3 days',
    d7: '7 days',
    d30: '30 days',
    create: 'Silence',
    createTitle: 'New silence',
    created: 'Notifications silenced until {until}.',
    end: 'End the silence of {what}',
    ended: 'Silence ended.',
    ending: 'End',
    none: 'No silence in force.',
  },
});

const FIELDS = ['indicator', 'region', 'until', 'reason'] as const;
const SPANS: [Parameters<typeof t>[0], number][] = [
  ['h1', 1],
  ['h4', 4],
  ['h12', 12],
  ['d1', 24],
  ['d3', 72],
  ['d7', 168],
  ['d30', 720 - 1 / 60],
];
const value = (e: Event) => (e.currentTarget as HTMLInputElement).value;

export default function Silences() {
  lang.value;
  const scope = (me.value?.regions ?? []).map(String);
  const [silences, setSilences] = useState<Schemas['Silence'][] | null>(null);
  const [indicators, setIndicators] = useState<string[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [form, setForm] = useState({ indicator: '', region: scope.length === 1 ? scope[0] : '', hours: 4, reason: '' });
  const [problem, setProblem] = useState<Problem | null>(null);
  const load = () =>
    api.GET('/api/v1/silences').then(({ data, error, response }) => (data ? setSilences(data.silences) : setError(errorText(error, response.status))));
  useEffect(() => {
    load();
    api.GET('/api/v1/rules').then(({ data }) => data && setIndicators(data.indicators));
  }, []);
  const submit = async (e: Event) => {
    e.preventDefault();
    const until = new Date(Date.now() + form.hours * 3600_000).toISOString();
    const { data, error, response } = await api.POST('/api/v1/silences', {
      body: { indicator: form.indicator || undefined, region: form.region, until, reason: form.reason.trim() },
    });
    if (!data) return setProblem(problemOf(error, response.status, FIELDS));
    setProblem(null);
    setDone(t('created', { until: formatTime(data.until, String(data.region)) }));
    setForm({ ...form, reason: '' });
    load();
  };
  const end = async (s: Schemas['Silence']) => {
    const { error, response } = await api.DELETE('/api/v1/silences/{id}', { params: { path: { id: s.id } } });
    if (!response.ok) return setError(errorText(error, response.status));
    setError(null);
    setDone(t('ended'));
    load();
  };
  return (
    <>
      <h2>{t('title')}</h2>
      <p>{t('intro')}</p>
      <Said error={error} done={done} />
      {silences && silences.length === 0 && <p>{t('none')}</p>}
      {silences && silences.length > 0 && (
        <div class="table-wrap">
          <table id="silences">
            <Head cols={[t('region'), t('indicator'), t('until'), t('reason'), t('by')]} actions={t('ending')} />
            <tbody>
              {silences.map((s) => (
                <tr key={s.id}>
                  <th scope="row">{regionName(String(s.region))}</th>
                  <td>{s.indicator ? indicatorName(s.indicator) : t('all')}</td>
                  <td>{formatTime(s.until, String(s.region))}</td>
                  <td>{s.reason}</td>
                  <td>{s.by}</td>
                  <td>
                    <button type="button" class="link" onClick={() => end(s)}>
                      {t('end', { what: `${s.indicator ? indicatorName(s.indicator) : t('all')}, ${regionName(String(s.region))}` })}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <form id="new-silence" class="card stack" onSubmit={submit}>
        <h3>{t('createTitle')}</h3>
        <div class="row">
          <div>
            <label for="new-silence-indicator">{t('indicator')}</label>
            <select id="new-silence-indicator" value={form.indicator} onChange={(e) => setForm({ ...form, indicator: value(e) })} {...invalid('new-silence', 'indicator', problem)}>
              <option value="">{t('all')}</option>
              {indicators.map((i) => (
                <option key={i} value={i}>
                  {indicatorName(i)}
                </option>
              ))}
            </select>
            <FieldError form="new-silence" field="indicator" problem={problem} />
          </div>
          <div>
            <label for="new-silence-for">{t('for')}</label>
            <select id="new-silence-for" value={String(form.hours)} onChange={(e) => setForm({ ...form, hours: Number(value(e)) })}>
              {SPANS.map(([k, h]) => (
                <option key={k} value={String(h)}>
                  {t(k)}
                </option>
              ))}
            </select>
            <FieldError form="new-silence" field="until" problem={problem} />
          </div>
        </div>
        <RegionPicker id="new-silence-region" label={t('region')} value={form.region} scope={scope} required onChange={(region) => setForm({ ...form, region })} />
        <FieldError form="new-silence" field="region" problem={problem} />
        <div>
          <label for="new-silence-reason">{t('reason')}</label>
          <input id="new-silence-reason" required maxLength={500} value={form.reason} onInput={(e) => setForm({ ...form, reason: value(e) })} {...invalid('new-silence', 'reason', problem)} />
          <FieldError form="new-silence" field="reason" problem={problem} />
        </div>
        <FormError form="new-silence" problem={problem} fields={FIELDS} />
        <button type="submit">{t('create')}</button>
      </form>
    </>
  );
}
