// One report with its classification explained: the matched terms marked
// in the text, the rules that fired, the score, the regions found, the
// language, and its files.
import { useEffect, useState } from 'preact/hooks';
import { api, errorText, type Schemas } from '../../api/client';
import { indicatorName, lang } from '../../i18n';
import { formatTime, regionName } from '../../lib/regions';
import { ReplyBox } from '../duties/reply';
import { Attachments } from './attachments';
import { placeName } from './picker';
import { channelName, languageName, receiptOf, w } from './words';

type Classified = Schemas['ClassifiedReport'];
type TermMatch = Schemas['TermMatch'];

const utf8 = new TextEncoder();
const text8 = new TextDecoder();

/** Pieces of `text`, marked where a match covers them. The classifier gives
 * byte offsets into the UTF-8 text, so the text is cut as bytes, not as
 * JavaScript's UTF-16 units (they differ past the first non-ASCII letter). */
export function marked(text: string, matches: { start: number; end: number; label: string }[]) {
  const bytes = utf8.encode(text);
  const ranges = matches
    .map((m) => ({ ...m, start: Math.max(0, Math.min(m.start, bytes.length)), end: Math.min(m.end, bytes.length) }))
    .filter((m) => m.end > m.start)
    .sort((a, b) => a.start - b.start || b.end - a.end);
  // overlapping matches become one mark that names them all
  const merged: { start: number; end: number; labels: string[] }[] = [];
  for (const m of ranges) {
    const last = merged[merged.length - 1];
    if (last && m.start < last.end) {
      last.end = Math.max(last.end, m.end);
      if (!last.labels.includes(m.label)) last.labels.push(m.label);
    } else merged.push({ start: m.start, end: m.end, labels: [m.label] });
  }
  const out: (string | { mark: string; title: string })[] = [];
  let at = 0;
  for (const m of merged) {
    if (m.start > at) out.push(text8.decode(bytes.subarray(at, m.start)));
    out.push({ mark: text8.decode(bytes.subarray(m.start, m.end)), title: m.labels.join('; ') });
    at = m.end;
  }
  if (at < bytes.length) out.push(text8.decode(bytes.subarray(at)));
  return out;
}

function Marked({ text, matches }: { text: string; matches: (TermMatch & { indicator: string })[] }) {
  const pieces = marked(
    text,
    matches.map((m) => ({ start: m.start, end: m.end, label: `${indicatorName(m.indicator)}: ${m.term} (${m.rule})` })),
  );
  return (
    <>
      {pieces.map((p, i) =>
        typeof p === 'string' ? (
          p
        ) : (
          <mark key={i} title={p.title}>
            {p.mark}
          </mark>
        ),
      )}
    </>
  );
}

export function ReportView({ id }: { id: string }) {
  const [item, setItem] = useState<Classified | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    let gone = false;
    api
      .GET('/api/v1/reports/{id}', { params: { path: { id } } })
      .then(({ data, error, response }) => {
        if (gone) return;
        if (response.status === 404) {
          // sent but not classified yet: look again shortly
          setPending(true);
          setTimeout(() => gone || setTick((n) => n + 1), 3000);
          return;
        }
        if (!response.ok || !data) return setError(errorText(error, response.status));
        setPending(false);
        setItem(data);
      })
      .catch(() => gone || setError(errorText(null)));
    return () => {
      gone = true;
    };
  }, [id, tick]);

  const receipt = receiptOf(id);
  if (error)
    return (
      <p class="err" role="alert">
        {error}
      </p>
    );
  if (!item)
    return (
      <section aria-labelledby="view-title">
        <h1 id="view-title">{w('viewTitle', { receipt })}</h1>
        <p aria-busy="true">{pending ? w('notYet') : w('sending')}</p>
      </section>
    );
  const { report: r, classification: c } = item;
  const all = c.indicators.flatMap((h) => h.matches.map((m) => ({ ...m, indicator: h.id })));
  const inText = all.filter((m) => m.field === 'text');
  const inTitle = all.filter((m) => m.field === 'title');
  const files = (r.attachments ?? []).map((a, n) => ({
    n,
    name: a.name,
    content_type: a.content_type,
    size: a.size,
    url: `/api/v1/reports/${r.id}/attachments/${n}`,
  }));
  const zone = r.region ?? c.regions[0];
  return (
    <article aria-labelledby="view-title" class="report-view">
      <p>
        <a href="#/reports/mine">{w('back')}</a>
      </p>
      <h1 id="view-title">{w('viewTitle', { receipt })}</h1>
      {r.title && (
        <h2 class="report-title">
          <Marked text={r.title} matches={inTitle} />
        </h2>
      )}
      <p class="report-text full">
        <Marked text={r.text} matches={inText} />
      </p>
      {all.length > 0 && <p class="hint">{w('marked')}</p>}
      <dl class="facts">
        <dt>{w('reportedAt')}</dt>
        <dd>{formatTime(r.reported_at, zone)}</dd>
        <dt>{w('receivedAt')}</dt>
        <dd>{formatTime(r.received_at, zone)}</dd>
        <dt>{w('channel')}</dt>
        <dd>{channelName(r.channel, lang.value)}</dd>
        {r.reporter && (
          <>
            <dt>{w('reporter')}</dt>
            <dd>{[r.reporter.name, r.reporter.account, r.reporter.contact].filter(Boolean).join(' · ')}</dd>
          </>
        )}
        <dt>{w('regionSent')}</dt>
        <dd>{r.region ? placeName(r.region) : w('none')}</dd>
        <dt>{w('regionsFound')}</dt>
        <dd>{c.regions.length ? c.regions.map((g) => regionName(g)).join(', ') : w('none')}</dd>
        <dt>{w('language')}</dt>
        <dd>{languageName(c.language, lang.value)}</dd>
      </dl>
      <h2>{w('classification')}</h2>
      {c.indicators.length === 0 && <p>{w('noHits')}</p>}
      {c.indicators.map((h) => (
        <section key={h.id} class="card hit" aria-label={indicatorName(h.id)}>
          <h3>
            {indicatorName(h.id)} <span class="meta">· {w('score', { score: Math.round(h.score * 100) / 100 })}</span>
          </h3>
          <p>
            <strong>{w('rules')}:</strong> {h.rules.map((x) => <code key={x}>{x}</code>)}
          </p>
          <p>
            <strong>{w('terms')}:</strong>{' '}
            {[...new Set(h.matches.map((m) => m.term + (m.field === 'title' ? ` (${w('inTitle')})` : '')))].join(', ')}
          </p>
        </section>
      ))}
      <p class="meta">
        {w('classifiedAt', { time: formatTime(c.classified_at, zone), version: c.rules_version.slice(0, 12) })}
      </p>
      <h2>{w('attachments')}</h2>
      {files.length ? <Attachments files={files} /> : <p>{w('none')}</p>}
      <ReplyBox report={r.id} channel={r.channel} region={zone} />
    </article>
  );
}
