// Compliance (`/compliance?template=&period=&region=`): for a template and
// a period, the counts and rates at each level (expected, filed, on time,
// late, not filed), a bar per region of the rates, and every expected
// filer with its status, deadline and filing time in its own zone. The
// choice is kept in the URL.
import { useEffect, useState } from 'preact/hooks';
import { api, errorText, me, type Schemas } from '../../api/client';
import { locale } from '../../i18n';
import { formatTime } from '../../lib/regions';
import { query, setQuery } from '../../lib/router';
import { RegionPicker } from '../search/fields';
import { TemplatePick } from './pick';
import { currentPeriod, deadlineText, periodName } from './period';
import { cached, loadTemplates, percent, type Template } from './shared';
import { w } from './words';

type Compliance = Schemas['Compliance'];
type Row = Schemas['ComplianceRow'];
type Totals = Schemas['ComplianceTotals'];

const levelWord = (l: string) => w(`lvl.${l}` as 'lvl.province');

/** How a region or a unit stands for the period. */
type Standing = Pick<Row, 'status' | 'overdue' | 'filings'> & { filed_at?: string | null; report?: string | null };

/** "filed" / "late" / "not filed" / "overdue", as a word and a class. */
function status(r: Standing): [string, string] {
  if (r.status === 'filed') return [w('st.filed'), 'st-filed'];
  if (r.status === 'late') return [w('st.late'), 'st-late'];
  return r.overdue ? [w('st.overdue'), 'st-overdue'] : [w('st.not_filed'), 'st-not_filed'];
}

export function CompliancePage() {
  const q = query.value;
  const scope = me.value?.regions ?? [];
  const [templates, setTemplates] = useState<Template[]>(cached);
  const template = q.get('template') ?? templates[0]?.id ?? 'lapsitda-harian';
  const chosen = templates.find((t) => t.id === template);
  const home = scope[0] ?? '31';
  const period = q.get('period') ?? (chosen ? currentPeriod(chosen.schedule, home) : '');
  const region = q.get('region') ?? '';
  const [form, setForm] = useState({ template, period, region });
  const [data, setData] = useState<Compliance | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [only, setOnly] = useState('all');

  useEffect(() => {
    loadTemplates().then((got) => setTemplates(got.templates));
  }, []);
  useEffect(() => {
    setForm({ template, period, region });
    if (!period) return;
    let stale = false;
    setData(null);
    setError(null);
    api
      .GET('/api/v1/compliance', { params: { query: { template, period, region: region || undefined } } })
      .then(({ data: d, error: e, response }) => {
        if (stale) return;
        if (d) setData(d);
        else setError(errorText(e, response.status));
      })
      .catch(() => !stale && setError(errorText(null)));
    return () => {
      stale = true;
    };
  }, [template, period, region]);

  const formTemplate = templates.find((t) => t.id === form.template);
  const submit = (e: Event) => {
    e.preventDefault();
    setQuery({ template: form.template, period: form.period, region: form.region || undefined });
  };
  const shown = (r: Standing) => only === 'all' || (only === 'missing' ? r.status === 'not_filed' : r.status === only);
  const rows = (data?.rows ?? []).filter(shown);
  const units = data?.units ?? [];
  const national = data?.totals.filter((t) => t.region == null) ?? [];
  const byRegion = data?.totals.filter((t) => t.region != null) ?? [];
  const sched = chosen?.schedule;

  return (
    <section class="compliance">
      <h1>{w('complianceTitle')}</h1>
      <form class="row" onSubmit={submit}>
        <TemplatePick
          id="c-template"
          templates={templates}
          value={form.template}
          onChange={(id) => {
            const t = templates.find((x) => x.id === id);
            setForm({ ...form, template: id, period: t ? currentPeriod(t.schedule, home) : '' });
          }}
        />
        {formTemplate?.schedule.every === 'stage' ? (
          <label>
            {w('stage')}
            <select id="c-period" value={form.period} onChange={(e) => setForm({ ...form, period: (e.currentTarget as HTMLSelectElement).value })}>
              {(formTemplate.schedule.stages ?? []).map((s) => (
                <option key={s.id} value={s.id}>
                  {s.name}
                </option>
              ))}
            </select>
          </label>
        ) : (
          <label>
            {w(`period.${formTemplate?.schedule.every ?? 'daily'}` as 'period.daily')}
            <input
              id="c-period"
              type={formTemplate?.schedule.every === 'weekly' ? 'week' : formTemplate?.schedule.every === 'monthly' ? 'month' : 'date'}
              value={form.period}
              onInput={(e) => setForm({ ...form, period: (e.currentTarget as HTMLInputElement).value })}
            />
          </label>
        )}
        <RegionPicker id="c-region" label={w('within')} hint={w('withinHint')} scope={scope} value={form.region} onChange={(r) => setForm({ ...form, region: r })} />
        <button type="submit">{w('show')}</button>
      </form>
      {error && (
        <p class="err" role="alert">
          {error}
        </p>
      )}
      {!data && !error && <p aria-busy="true">{w('loading')}</p>}
      {data && sched && (
        <>
          <h2 id="c-heading">
            {chosen?.name} · {periodName(sched, data.period, w('week'))}
          </h2>
          <TotalsTable totals={[...national, ...byRegion]} />
          {byRegion.length > 0 && <Bars totals={byRegion} />}
          <h2>{w('filers')}</h2>
          <label class="inline">
            {w('showOnly')}
            <select id="c-only" value={only} onChange={(e) => setOnly((e.currentTarget as HTMLSelectElement).value)}>
              <option value="all">{w('only.all')}</option>
              <option value="missing">{w('only.missing')}</option>
              <option value="late">{w('st.late')}</option>
              <option value="filed">{w('st.filed')}</option>
            </select>
          </label>
          <p class="meta" id="c-deadlines">
            {w('deadline', { time: [...new Set(data.rows.map((r) => deadlineText(sched, data.period, String(r.region))))].join('; ') })}
          </p>
          <FilerTable
            id="c-rows"
            label={w('filers')}
            head={w('region')}
            rows={rows.map((r) => ({
              key: String(r.region),
              attrs: { 'data-region': String(r.region) },
              name: r.name,
              sub: levelWord(r.level),
              zoneOf: String(r.region),
              row: r,
            }))}
          />
          {rows.length === 0 && <p>{w('noRows')}</p>}
          {units.length > 0 && (
            <>
              <h2>{w('unitsTitle')}</h2>
              <FilerTable
                id="c-units"
                label={w('unitsTitle')}
                head={w('unit')}
                rows={units.filter(shown).map((u) => ({ key: u.unit, attrs: { 'data-unit': u.unit }, name: u.name, zoneOf: u.region ?? undefined, deadline: u.deadline, row: u }))}
              />
            </>
          )}
        </>
      )}
    </section>
  );
}

type FilerLine = { key: string; attrs: Record<string, string>; name: string; sub?: string; zoneOf?: string; deadline?: string | null; row: Standing };

/** Expected filers (regions or units), each with its status, when it filed and its report. */
function FilerTable({ id, label, head, rows }: { id: string; label: string; head: string; rows: FilerLine[] }) {
  return (
    <div class="table-wrap" tabIndex={0} role="region" aria-label={label}>
      <table id={id}>
        <thead>
          <tr>
            <th scope="col">{head}</th>
            <th scope="col">{w('status')}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(({ key, attrs, name, sub, zoneOf, deadline, row: r }) => {
            const [word, cls] = status(r);
            return (
              <tr key={key} {...attrs} data-status={r.overdue ? 'overdue' : r.status}>
                <th scope="row">
                  {name} {sub && <span class="meta">· {sub}</span>}
                </th>
                <td>
                  <span class={`badge ${cls}`}>{word}</span>
                  {deadline && <span class="meta"> · {w('deadline', { time: formatTime(deadline, zoneOf) })}</span>}
                  {r.filed_at && <span class="meta"> · {w('sentAt', { time: formatTime(r.filed_at, zoneOf) })}</span>}
                  {r.filings > 1 && <span class="meta"> · {w('corrections', { n: r.filings })}</span>}
                  {r.report && (
                    <>
                      {' · '}
                      <a href={`#/reports/${r.report}`}>{w('openFiling', { name })}</a>
                    </>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function TotalsTable({ totals }: { totals: Totals[] }) {
  const all = (me.value?.regions ?? []).length ? w('allYours') : w('national');
  const n = (x: number) => x.toLocaleString(locale());
  return (
    <div class="table-wrap" tabIndex={0} role="region" aria-label={w('totalsCaption')}>
      <table id="c-totals">
        <caption class="visually-hidden">{w('totalsCaption')}</caption>
        <thead>
          <tr>
            <th scope="col">{w('region')}</th>
            <th scope="col">{w('expected')}</th>
            <th scope="col">{w('filed')}</th>
            <th scope="col">{w('onTimeCol')}</th>
            <th scope="col">{w('st.late')}</th>
            <th scope="col">{w('st.not_filed')}</th>
            <th scope="col">{w('filedRate')}</th>
            <th scope="col">{w('onTimeRate')}</th>
          </tr>
        </thead>
        <tbody>
          {totals.map((t) => (
            <tr key={`${t.region ?? ''}/${t.filers}`} data-region={t.region ?? 'national'} data-filers={t.filers}>
              <th scope="row">
                {t.region == null ? all : t.name} <span class="meta">· {levelWord(t.filers)}</span>
              </th>
              <td>{n(t.expected)}</td>
              <td>{n(t.filed)}</td>
              <td>{n(t.on_time)}</td>
              <td>{n(t.late)}</td>
              <td>{n(t.not_filed)}</td>
              <td>{percent(t.filed_rate)}</td>
              <td>{percent(t.on_time_rate)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** A bar per region and filer level: on time, then late, out of all expected. */
function Bars({ totals }: { totals: Totals[] }) {
  return (
    <figure class="bars" id="c-bars">
      <figcaption>{w('barsTitle')}</figcaption>
      <ul class="legend" aria-hidden="true">
        <li>
          <span class="sw on-time" /> {w('onTimeCol')}
        </li>
        <li>
          <span class="sw late" /> {w('st.late')}
        </li>
        <li>
          <span class="sw none" /> {w('st.not_filed')}
        </li>
      </ul>
      <ul class="bar-list">
        {totals.map((t) => {
          const onTime = t.expected ? (t.on_time / t.expected) * 100 : 0;
          const late = t.expected ? (t.late / t.expected) * 100 : 0;
          const said = w('barSays', { name: t.name, level: levelWord(t.filers), filed: percent(t.filed_rate), onTime: percent(t.on_time_rate), n: t.filed, of: t.expected });
          return (
            <li key={`${t.region}/${t.filers}`}>
              <span class="bar-name">
                {t.name} <span class="meta">· {levelWord(t.filers)}</span>
              </span>
              <span class="bar" role="img" aria-label={said}>
                <span class="on-time" style={{ width: `${onTime}%` }} />
                <span class="late" style={{ width: `${late}%` }} />
              </span>
              <span class="bar-value" aria-hidden="true">
                {percent(t.filed_rate)} ({t.filed}/{t.expected})
              </span>
            </li>
          );
        })}
      </ul>
    </figure>
  );
}
