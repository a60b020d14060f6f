// The morning briefs (`/briefs?region=&date=`): one brief shown in the app
// and as a PDF download, and the list of briefs that went out. The brief's
// HTML is parsed as inert data (DOMParser runs no scripts) and only its text
// structure is rendered: headings, paragraphs, lists, tables, emphasis and
// links within the app; no styles, scripts, frames, images or handlers.
import type { ComponentChild } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { me, type Schemas } from '../../api/client';
import { locale } from '../../i18n';
import { formatTime, regionName, regions } from '../../lib/regions';
import { query, setQuery } from '../../lib/router';
import { localDay } from './period';
import { getJson } from './shared';
import { w } from './words';

type Archived = Schemas['ArchivedBrief'];

const KEEP = new Set(['h1', 'h2', 'h3', 'h4', 'p', 'ul', 'ol', 'li', 'table', 'caption', 'thead', 'tbody', 'tfoot', 'tr', 'th', 'td', 'strong', 'em', 'b', 'i', 'small', 'span', 'div', 'section', 'header', 'footer', 'br', 'a', 'dl', 'dt', 'dd', 'time', 'mark', 'abbr']);
const DROP = new Set(['script', 'style', 'template', 'iframe', 'object', 'embed', 'svg', 'math', 'head', 'title', 'noscript', 'form', 'link', 'meta']);

/** A link of the brief as one that stays in the app: `…/#/reports/1` → `#/reports/1`. */
function safeHref(href: string | null): string | null {
  if (!href) return null;
  const hash = href.indexOf('#/');
  if (hash >= 0) return href.slice(hash);
  return null;
}

/** The brief's DOM as Preact nodes, with only the elements and attributes kept above. */
function render(node: Node, key: number): ComponentChild {
  if (node.nodeType === Node.TEXT_NODE) return node.textContent;
  if (node.nodeType !== Node.ELEMENT_NODE) return null;
  const el = node as Element;
  const tag = el.tagName.toLowerCase();
  if (DROP.has(tag)) return null;
  const children = [...el.childNodes].map((c, i) => render(c, i));
  if (!KEEP.has(tag)) return <>{children}</>;
  // headings move one level down: the page has its own h1
  const Tag = (/^h[1-3]$/.test(tag) ? `h${Number(tag[1]) + 1}` : tag) as 'div';
  const props: Record<string, string | number> = { key };
  if (tag === 'a') {
    const href = safeHref(el.getAttribute('href'));
    if (!href) return <>{children}</>;
    props.href = href;
  }
  for (const a of ['colspan', 'rowspan', 'scope']) {
    const v = el.getAttribute(a);
    if (v && /^[a-z0-9]+$/i.test(v)) props[a === 'colspan' ? 'colSpan' : a === 'rowspan' ? 'rowSpan' : a] = v;
  }
  const made = <Tag {...props}>{children}</Tag>;
  // a wide table scrolls on its own, not the page
  return tag === 'table' ? (
    <div class="table-wrap" key={key} tabIndex={0} role="region" aria-label={w('briefTable')}>
      {made}
    </div>
  ) : (
    made
  );
}

function BriefBody({ html }: { html: string }) {
  const doc = new DOMParser().parseFromString(html, 'text/html');
  return <div class="brief-body">{[...doc.body.childNodes].map((c, i) => render(c, i))}</div>;
}

export function Briefs() {
  const q = query.value;
  const scope = me.value?.regions ?? [];
  // the provinces this account sees whole; a national account also has the national brief
  const provinces = scope.length ? scope.filter((c) => !c.includes('.')) : [...regions.value.values()].filter((r) => r.level === 'province').map((r) => r.code);
  const national = scope.length === 0;
  const region = q.get('region') ?? (national ? '' : (provinces[0] ?? ''));
  const date = q.get('date') ?? localDay(region || '31');
  const [form, setForm] = useState({ region, date });
  const [html, setHtml] = useState<string | null>(null);
  const [kind, setKind] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [list, setList] = useState<Archived[] | null>(null);
  const params = new URLSearchParams({ ...(region ? { region } : {}), date });

  useEffect(() => {
    setForm({ region, date });
    setHtml(null);
    setError(null);
    if (!national && !provinces.length) return setError(w('noBrief'));
    let stale = false;
    fetch(`/api/v1/briefs?${params}`, { credentials: 'same-origin' })
      .then(async (r) => {
        if (stale) return;
        if (!r.ok) {
          const body = await r.json().catch(() => null);
          return setError((body as { error?: { message?: string } } | null)?.error?.message ?? w('briefFailed'));
        }
        setKind(r.headers.get('kentongan-brief'));
        setHtml(await r.text());
      })
      .catch(() => !stale && setError(w('briefFailed')));
    return () => {
      stale = true;
    };
  }, [region, date]);

  useEffect(() => {
    getJson<{ briefs: Archived[] }>(`/api/v1/briefs/archive?limit=60`).then((r) => setList(r.data?.briefs ?? []));
  }, []);

  const submit = (e: Event) => {
    e.preventDefault();
    setQuery({ region: form.region || undefined, date: form.date });
  };
  const shownName = region ? regionName(region) : w('national');
  return (
    <section class="briefs" aria-labelledby="briefs-title">
      <h1 id="briefs-title">{w('briefsTitle')}</h1>
      <form class="row" onSubmit={submit}>
        <label>
          {w('briefFor')}
          <select id="b-region" value={form.region} onChange={(e) => setForm({ ...form, region: (e.currentTarget as HTMLSelectElement).value })}>
            {national && <option value="">{w('national')}</option>}
            {provinces.map((c) => (
              <option key={c} value={c}>
                {regionName(c)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {w('morningOf')}
          <input id="b-date" type="date" value={form.date} onInput={(e) => setForm({ ...form, date: (e.currentTarget as HTMLInputElement).value })} />
        </label>
        <button type="submit">{w('show')}</button>
      </form>
      {error && (
        <p class="err" role="alert">
          {error}
        </p>
      )}
      {!html && !error && <p aria-busy="true">{w('loading')}</p>}
      {html && (
        <article class="card brief" id="brief" aria-label={w('briefOf', { name: shownName, day: date })}>
          <p class="row brief-actions">
            <span class="meta">{kind === 'archived' ? w('archived') : w('live')}</span>
            <a class="button" id="brief-pdf" href={`/api/v1/briefs?${params}&format=pdf`} download>
              {w('pdf')}
            </a>
          </p>
          <BriefBody html={html} />
        </article>
      )}
      <h2>{w('sentBriefs')}</h2>
      {list === null && <p aria-busy="true">{w('loading')}</p>}
      {list?.length === 0 && <p>{w('noneSent')}</p>}
      {list && list.length > 0 && (
        <ul class="brief-list" id="b-list">
          {list.map((b) => {
            const code = b.region ?? '';
            return (
              <li key={`${code}/${b.date}`}>
                <a href={`#/briefs?${new URLSearchParams({ ...(code ? { region: code } : {}), date: b.date })}`}>
                  {b.name} · {new Date(b.date + 'T00:00:00Z').toLocaleDateString(locale(), { timeZone: 'UTC', day: 'numeric', month: 'long', year: 'numeric' })}
                </a>
                <span class="meta">
                  {w('briefCounts', { reports: b.reports, alerts: b.open_alerts, missing: b.missing })} · {formatTime(b.generated_at, code || '31')}
                </span>
                <a href={`/api/v1/briefs?${new URLSearchParams({ ...(code ? { region: code } : {}), date: b.date, format: 'pdf' })}`} download>
                  {w('pdfShort')}
                </a>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
