// One alert on the board: what, where, when, its chain, its reports, who was
// told, what was done, and the buttons to take it on.
import { useEffect, useState } from 'preact/hooks';
import { api, errorText, type Schemas } from '../../api/client';
import { indicatorName, lang, levelName, stateName } from '../../i18n';
import { age, formatTime, regionName } from '../../lib/regions';
import { Attachments } from '../reports/attachments';
import { listReports, type Listed } from '../reports/listed';
import { smsStatusWord, w } from './words';

export type Alert = Schemas['ChainedAlert'];
type Delivery = Schemas['Delivery'];

/** Whether a delivery failed because its channel has no configuration. */
export const notConfigured = (d: Delivery) => !!d.error && / is not configured/.test(d.error);

/** The newest attempt for each recipient of each unit, oldest first. */
function latest(deliveries: Delivery[]): Delivery[] {
  const by = new Map<string, Delivery>();
  for (const d of deliveries) {
    if (notConfigured(d)) continue;
    const key = `${d.channel} ${d.unit} ${d.recipient}`;
    const old = by.get(key);
    if (!old || old.at <= d.at) by.set(key, d);
  }
  return [...by.values()].sort((a, b) => a.at.localeCompare(b.at));
}

function deliveryText(d: Delivery, unit: string, region: string): string {
  const p = { unit, to: d.recipient, time: formatTime(d.at, region), error: d.error ?? '', n: d.attempt };
  const sms = d.channel === 'sms';
  // attempt 0 is the SMS gateway's later report on a message
  if (sms && d.attempt === 0 && d.status) return w('smsStatus', { ...p, status: smsStatusWord(d.status, lang.value) });
  if (!d.error) return w(sms ? 'smsSent' : 'emailSent', p);
  if (d.status === 'failed') return w(sms ? 'smsFailed' : 'emailFailed', p);
  return w(sms ? 'smsRetry' : 'emailRetry', p);
}

const DURATIONS: [Parameters<typeof w>[0], number][] = [
  ['hours1', 1],
  ['hours4', 4],
  ['hours12', 12],
  ['day1', 24],
  ['day3', 72],
  ['day7', 168],
];

type Props = {
  alert: Alert;
  units: Map<string, string>;
  focused: boolean;
  onChange: (a: Alert) => void;
};

export function AlertCard({ alert: a, units, focused, onChange }: Props) {
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [showReports, setShowReports] = useState(focused);
  const [silencing, setSilencing] = useState(false);
  const region = a.region;
  const unitName = (id: string) => units.get(id) ?? id;
  const headingId = `alert-${a.id}-title`;

  const run = async (work: () => Promise<{ data?: Alert; error?: unknown; response: Response }>) => {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      const { data, error, response } = await work();
      if (!response.ok || !data) setError(errorText(error, response.status));
      else {
        onChange(data);
        setNote('');
        setDone(w('done'));
      }
    } catch {
      setError(errorText(null));
    } finally {
      setBusy(false);
    }
  };
  const path = { params: { path: { id: a.id } } };
  const ack = () => run(() => api.POST('/api/v1/alerts/{id}/ack', path));
  const progress = () => {
    if (!note.trim()) {
      setError(w('needNote'));
      return;
    }
    return run(() => api.POST('/api/v1/alerts/{id}/progress', { ...path, body: { note } }));
  };
  const resolve = () =>
    run(() => api.POST('/api/v1/alerts/{id}/resolve', { ...path, body: note.trim() ? { note } : {} }));

  const silence = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const hours = Number(form.get('hours'));
    const until = new Date(Date.now() + hours * 3600_000).toISOString();
    await run(async () => {
      const made = await api.POST('/api/v1/silences', {
        body: { indicator: a.indicator, region, until, reason: String(form.get('reason') ?? '') },
      });
      if (!made.response.ok) return { error: made.error, response: made.response };
      setSilencing(false);
      return api.GET('/api/v1/alerts/{id}', path);
    });
  };
  const unsilence = (id: string) =>
    run(async () => {
      const ended = await api.DELETE('/api/v1/silences/{id}', { params: { path: { id } } });
      if (!ended.response.ok) return { error: ended.error, response: ended.response };
      return api.GET('/api/v1/alerts/{id}', path);
    });

  const deliveries = latest(a.deliveries ?? []);
  const resolved = a.state === 'resolved';
  return (
    <article
      id={`alert-${a.id}`}
      class={`card alert lvl-edge-${a.level}${focused ? ' focus' : ''}${a.silenced ? ' silenced' : ''}`}
      tabIndex={-1}
      aria-labelledby={headingId}
    >
      <h2 id={headingId} class="alert-title">
        <span class={`badge lvl-${a.level}`}>{levelName(a.level)}</span> {indicatorName(a.indicator)} ·{' '}
        {regionName(region)}
      </h2>
      <p class="meta">
        <span class={`state state-${a.state}`}>{stateName(a.state)}</span> ·{' '}
        {w('raised', { time: formatTime(a.raised_at, region), age: age(a.raised_at) })}
      </p>
      {focused && resolved && <p class="note">{w('resolvedShown')}</p>}
      {a.silenced && (
        <p class="silence-mark">
          {a.silenced.reason
            ? w('silencedWhy', { time: formatTime(a.silenced.until, region), reason: a.silenced.reason })
            : w('silenced', { time: formatTime(a.silenced.until, region) })}{' '}
          <span class="meta">{w('silencedNote')}</span>{' '}
          {a.silenced.id && (
            <button type="button" class="link" disabled={busy} onClick={() => unsilence(a.silenced!.id!)}>
              {w('silenceEnd')}
            </button>
          )}
        </p>
      )}
      <p class="meta">
        {w('counts', {
          count: a.count,
          from: formatTime(a.window.start, region),
          to: formatTime(a.window.end, region),
          score: Math.round(a.score * 10) / 10,
        })}
      </p>
      {(a.chain.parent || a.chain.children.length > 0) && (
        <div class="chain">
          {a.chain.parent && (
            <p>
              {w('chainUp')}:{' '}
              <a href={`#/alerts/${a.chain.parent.id}`}>
                {levelName(a.chain.parent.level)} · {a.chain.parent.name} ({stateName(a.chain.parent.state)})
              </a>
            </p>
          )}
          {a.chain.children.length > 0 && (
            <>
              <p>{w('chainDown')}:</p>
              <ul>
                {a.chain.children.map((c) => (
                  <li key={c.id}>
                    <a href={`#/alerts/${c.id}`}>
                      {levelName(c.level)} · {c.name} ({stateName(c.state)})
                    </a>
                  </li>
                ))}
              </ul>
            </>
          )}
        </div>
      )}
      <button
        type="button"
        class="secondary show-reports"
        aria-expanded={showReports}
        aria-controls={`alert-${a.id}-reports`}
        onClick={() => setShowReports(!showReports)}
      >
        {showReports ? w('reportsHide') : w('reportsShow', { n: a.reports.length })}
      </button>
      <div id={`alert-${a.id}-reports`}>{showReports && <AlertReports alert={a} />}</div>

      <h3>{w('deliveries')}</h3>
      {deliveries.length ? (
        <ul class="deliveries">
          {deliveries.map((d) => (
            <li key={`${d.channel}${d.unit}${d.recipient}`} class={d.error ? 'err-soft' : ''}>
              {deliveryText(d, unitName(d.unit), region)}
            </li>
          ))}
        </ul>
      ) : (
        <p class="meta">{w('noDeliveries')}</p>
      )}
      {(a.escalations ?? []).length > 0 && (
        <ul class="escalations">
          {(a.escalations ?? []).map((e) => {
            const from = e.from_names?.length ? e.from_names : e.from;
            const p = { to: e.names.join(', '), time: formatTime(e.at, region), from: from.join(', ') };
            return <li key={e.at}>{from.length ? w('escalated', p) : w('escalatedPlain', p)}</li>;
          })}
        </ul>
      )}
      {(a.history ?? []).length > 0 && (
        <>
          <h3>{w('history')}</h3>
          <ol class="steps">
            {(a.history ?? []).map((s) => (
              <li key={s.id}>
                {w(`step_${s.state}` as Parameters<typeof w>[0], { by: s.by, time: formatTime(s.at, region) })}
                {s.note && <q>{s.note}</q>}
              </li>
            ))}
          </ol>
        </>
      )}
      {!resolved && (
        <div class="actions">
          <label>
            {w('note')}
            <textarea
              value={note}
              rows={2}
              maxLength={4000}
              placeholder={w('notePlaceholder')}
              onInput={(e) => setNote((e.currentTarget as HTMLTextAreaElement).value)}
            />
          </label>
          <div class="buttons">
            {a.state === 'open' && (
              <button type="button" class="ack" disabled={busy} onClick={ack}>
                {w('ack')}
              </button>
            )}
            <button type="button" class="progress" disabled={busy} onClick={progress}>
              {w('progress')}
            </button>
            <button type="button" class="resolve secondary" disabled={busy} onClick={resolve}>
              {w('resolve')}
            </button>
            {!a.silenced && (
              <button
                type="button"
                class="silence secondary"
                aria-expanded={silencing}
                disabled={busy}
                onClick={() => setSilencing(!silencing)}
              >
                {w('silence')}
              </button>
            )}
          </div>
          {silencing && (
            <form class="silence-form stack" onSubmit={silence}>
              <p>
                <strong>
                  {w('silenceTitle', { indicator: indicatorName(a.indicator), region: regionName(region) })}
                </strong>
              </p>
              <div class="row">
                <label>
                  {w('silenceFor')}
                  <select name="hours">
                    {DURATIONS.map(([key, hours]) => (
                      <option key={key} value={hours} selected={hours === 4}>
                        {w(key)}
                      </option>
                    ))}
                  </select>
                </label>
                <label>
                  {w('silenceWhy')}
                  <input name="reason" required maxLength={500} placeholder={w('silenceWhyPlaceholder')} />
                </label>
                <button type="submit" disabled={busy}>
                  {w('silenceSave')}
                </button>
              </div>
            </form>
          )}
        </div>
      )}
      <p aria-live="polite" class={error ? 'err' : 'ok'}>
        {error ?? done ?? ''}
      </p>
    </article>
  );
}

/** The reports an alert counted, with their text and files. */
function AlertReports({ alert }: { alert: Alert }) {
  const ids = alert.reports.map((r) => r.id);
  const key = ids.join(',');
  const [state, setState] = useState<{ list?: Listed[]; error?: string }>({});
  const [tries, setTries] = useState(0);
  useEffect(() => {
    let gone = false;
    let again: ReturnType<typeof setTimeout> | undefined;
    (async () => {
      const found: Listed[] = [];
      for (let i = 0; i < ids.length; i += 100) {
        const page = await listReports({ ids: ids.slice(i, i + 100).join(','), limit: 100 });
        found.push(...page.reports);
      }
      return found;
    })()
      .then((list) => {
        if (gone) return;
        setState({ list });
        // a report is listed once it is indexed, a moment after its alert
        if (list.length < ids.length && tries < 15) again = setTimeout(() => setTries(tries + 1), 2000);
      })
      .catch((e) => gone || setState({ error: typeof e === 'string' ? e : errorText(null) }));
    return () => {
      gone = true;
      clearTimeout(again);
    };
  }, [key, tries]);
  if (state.error) return <p class="err">{state.error}</p>;
  if (!state.list) return <p aria-busy="true">{w('reportsLoading')}</p>;
  const byId = new Map(state.list.map((r) => [r.id, r]));
  return (
    <ol class="alert-reports">
      {alert.reports.map((ref) => {
        const r = byId.get(ref.id);
        if (!r) return <li key={ref.id}>{w('reportMissing', { excerpt: ref.excerpt })}</li>;
        return (
          <li key={ref.id} class="report">
            <p class="meta">
              {formatTime(r.reported_at, r.region ?? alert.region)} · {regionName(r.region ?? alert.region)} ·{' '}
              <a href={`#/reports/${r.id}`}>
                {w('reportOpen')} {r.receipt}
              </a>
            </p>
            {r.title && <p class="report-title">{r.title}</p>}
            <p class="report-text">
              {r.text}
              {r.truncated ? '…' : ''}
            </p>
            <Attachments files={r.attachments} />
          </li>
        );
      })}
    </ol>
  );
}
