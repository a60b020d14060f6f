// The monitoring board (operators): the alerts not yet resolved in the
// caller's regions, kept current over the alert stream (Server-Sent Events).
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, errorText } from '../../api/client';
import { indicatorName, lang, levelName } from '../../i18n';
import { regionName } from '../../lib/regions';
import { AlertCard, notConfigured, type Alert } from './card';
import { chime } from './sound';
import { w } from './words';

const RANK: Record<string, number> = { awas: 3, siaga: 2, waspada: 1 };

/** Highest level first, then newest. */
const order = (a: Alert, b: Alert) => RANK[b.level] - RANK[a.level] || b.raised_at.localeCompare(a.raised_at);

const OPEN = ['open', 'acknowledged', 'in_progress'] as const;

type Live = 'connecting' | 'live' | 'lost';

export default function Board({ id }: Record<string, string | undefined>) {
  const [alerts, setAlerts] = useState<Alert[] | null>(null);
  const known = useRef(new Map<string, Alert>());
  const [error, setError] = useState<string | null>(null);
  const [live, setLive] = useState<Live>('connecting');
  const [banner, setBanner] = useState<Alert | null>(null);
  const [news, setNews] = useState('');
  const [units, setUnits] = useState(new Map<string, string>());
  const focus = useRef(id);
  focus.current = id;
  // ages ("5 menit lalu") move on by themselves
  const [, setMinute] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setMinute((n) => n + 1), 60_000);
    return () => clearInterval(timer);
  }, []);

  const publish = () => setAlerts([...known.current.values()].sort(order));

  /** Takes an alert as it looks now; `told` when the stream brought it. */
  const upsert = (a: Alert, told: boolean) => {
    const before = known.current.get(a.id);
    if (a.state === 'resolved' && a.id !== focus.current) known.current.delete(a.id);
    else known.current.set(a.id, a);
    publish();
    const rose = !before || RANK[a.level] > RANK[before.level];
    if (told && rose && a.state === 'open') {
      const words = { indicator: indicatorName(a.indicator), region: regionName(a.region), level: levelName(a.level) };
      if (a.level === 'awas') {
        setBanner(a);
        chime();
      }
      setNews(w(a.level === 'awas' ? 'newAwas' : 'newAlert', words));
    }
  };

  /** Loads every alert not yet resolved (and the one a link names). */
  const load = async () => {
    try {
      const lists = await Promise.all(
        OPEN.map((state) => api.GET('/api/v1/alerts', { params: { query: { state, limit: 1000 } } })),
      );
      const next = new Map<string, Alert>();
      for (const { data, error, response } of lists) {
        if (!response.ok || !data) {
          setError(errorText(error, response.status));
          return;
        }
        for (const a of data.alerts) next.set(a.id, a);
      }
      const linked = focus.current;
      if (linked && !next.has(linked)) {
        const { data } = await api.GET('/api/v1/alerts/{id}', { params: { path: { id: linked } } });
        if (data) next.set(data.id, data);
      }
      known.current = next;
      setError(null);
      publish();
    } catch {
      setError(errorText(null));
    }
  };

  useEffect(() => {
    api.GET('/api/v1/units').then(
      ({ data }) => data && setUnits(new Map(data.units.map((u) => [u.id, u.name]))),
      () => undefined,
    );
    let source: EventSource | null = null;
    let retry: ReturnType<typeof setTimeout> | undefined;
    const connect = () => {
      setLive('connecting');
      source = new EventSource('/api/v1/alerts/stream');
      // every change from `ready` on is sent, so the list is loaded after it
      source.addEventListener('ready', () => {
        setLive('live');
        load();
      });
      source.addEventListener('alert', (e) => upsert(JSON.parse((e as MessageEvent).data) as Alert, true));
      source.addEventListener('reload', () => load());
      source.onerror = () => {
        setLive('lost');
        // the browser reconnects by itself unless the server refused the stream
        if (source?.readyState === EventSource.CLOSED) {
          source.close();
          retry = setTimeout(connect, 5000);
        }
      };
    };
    load();
    connect();
    return () => {
      clearTimeout(retry);
      source?.close();
    };
  }, []);

  // the alert a link names: load it if it is not on the board, then focus it
  useEffect(() => {
    if (!id || !alerts) return;
    if (!known.current.has(id)) {
      load();
      return;
    }
    const card = document.getElementById(`alert-${id}`);
    card?.scrollIntoView({ block: 'start' });
    card?.focus();
  }, [id, alerts === null, alerts?.some((a) => a.id === id)]);

  lang.value; // re-render on a language change
  const all = alerts ?? [];
  const smsOff = all.some((a) => (a.deliveries ?? []).some((d) => d.channel === 'sms' && notConfigured(d)));
  const emailOff = all.some((a) => (a.deliveries ?? []).some((d) => d.channel === 'email' && notConfigured(d)));
  return (
    <section class="board" aria-labelledby="board-title">
      <h1 id="board-title">{w('title')}</h1>
      <p class="sub">{w('intro')}</p>
      <p class={`live live-${live}`} role="status">
        <span class="dot" aria-hidden="true" />
        {live === 'live' ? w('live') : live === 'lost' ? w('reconnecting') : w('connecting')}
      </p>
      <p class="visually-hidden" aria-live="polite">
        {news}
      </p>
      {banner && (
        <div class="awas-banner" role="alert">
          <span>
            {w('newAwas', { indicator: indicatorName(banner.indicator), region: regionName(banner.region) })}
          </span>
          <a href={`#/alerts/${banner.id}`}>{w('open')}</a>
          <button type="button" class="secondary" onClick={() => setBanner(null)}>
            {w('dismiss')}
          </button>
        </div>
      )}
      {(smsOff || emailOff) && (
        <div class="note channels">
          {emailOff && <p>{w('emailOff')}</p>}
          {smsOff && <p>{w('smsOff')}</p>}
        </div>
      )}
      {error && (
        <p class="err" role="alert">
          {error}
        </p>
      )}
      {alerts === null && !error && <p aria-busy="true">{w('connecting')}</p>}
      {alerts !== null && all.length === 0 && <p class="empty">{w('none')}</p>}
      <div class="alerts">
        {all.map((a) => (
          <AlertCard key={a.id} alert={a} units={units} focused={a.id === id} onChange={(x) => upsert(x, false)} />
        ))}
      </div>
    </section>
  );
}
