// Search (analyst): a query and filters kept in the URL, results with the
// matched words marked, counts by indicator, region, channel and language
// that narrow the search when clicked, pages, and the whole result set as
// CSV. A result opens its report page.
import { useEffect, useState } from 'preact/hooks';
import { api, errorText, type Schemas } from '../../api/client';
import { indicatorName, lang, locale, words } from '../../i18n';
import { formatTime, regionName } from '../../lib/regions';
import { query, setQuery } from '../../lib/router';
import { RegionPicker, dayEnd, dayStart, params, placeName } from './fields';

const t = words({
  id: {
    title: 'Cari laporan',
    q: 'Kata kunci',
    qHint: 'Kata, "frasa persis", AND, OR, NOT, atau title:kata untuk judul. Contoh: sabu NOT ganja',
    indicator: 'Indikator',
    any: 'Semua indikator',
    region: 'Wilayah',
    regionHint: 'Kosongkan untuk semua wilayah Anda',
    from: 'Dari tanggal',
    to: 'Sampai tanggal',
    sort: 'Urutan',
    relevance: 'Paling cocok',
    newest: 'Terbaru',
    oldest: 'Terlama',
    submit: 'Cari',
    clear: 'Hapus filter',
    searching: 'Mencari…',
    found: '{n} laporan ditemukan',
    none: 'Tidak ada laporan yang cocok. Coba kata lain atau perluas periode dan wilayah.',
    export: 'Unduh semua hasil (CSV)',
    exportHint: 'Berkas CSV berisi semua laporan yang cocok (paling banyak 50.000), dengan waktu di zona wilayahnya.',
    facets: 'Jumlah per kelompok',
    facetsHint: 'Klik untuk mempersempit pencarian.',
    'facet.indicator': 'Indikator',
    'facet.province': 'Provinsi',
    'facet.regency': 'Kabupaten/kota',
    'facet.channel': 'Saluran',
    'facet.language': 'Bahasa',
    filterOn: 'Filter: {what}',
    removeFilter: 'Hapus filter {what}',
    page: 'Halaman {n} dari {of}',
    prev: 'Sebelumnya',
    next: 'Berikutnya',
    pages: 'Halaman hasil',
    via: 'lewat {channel}',
    untitled: 'Laporan dari {where}, {when}',
    noRegion: 'wilayah tidak diketahui',
    reports: '{n} laporan',
    'bad.quote': 'Tanda kutip tidak berpasangan: tutup frasa dengan tanda kutip kedua, misalnya "bentrok warga".',
    'bad.paren': 'Tanda kurung tidak seimbang: setiap "(" perlu ")" penutup, misalnya (sabu OR ganja) AND pasar.',
    'bad.operator': 'Kata penghubung AND, OR atau NOT harus berada di antara dua kata, misalnya sabu AND pasar.',
    'bad.field': 'Kolom "{field}" tidak dikenal. Gunakan title:kata untuk mencari di judul, atau hapus titik dua.',
    'bad.onlyNot': 'Kueri hanya berisi pengecualian (NOT atau -). Tambahkan kata yang dicari, misalnya narkoba NOT ganja.',
    'bad.deep': 'Tanda kurung terlalu bertingkat. Sederhanakan kueri.',
    'bad.long': 'Kueri terlalu panjang. Persingkat kueri.',
    'bad.star': 'title:* bukan pencarian. Kosongkan kata kunci untuk melihat semua laporan.',
    'bad.other': 'Kueri tidak dapat dibaca. Tulis kata, "frasa", AND, OR, NOT atau title:kata.',
    'bad.period': 'Tanggal "dari" harus sebelum tanggal "sampai".',
    'channel.app': 'aplikasi',
    'channel.web': 'web',
    'channel.telegram': 'Telegram',
    'channel.whatsapp': 'WhatsApp',
    'channel.sms': 'SMS',
    'channel.email': 'email',
    'channel.feed': 'berita daring',
    'language.ind': 'Bahasa Indonesia',
    'language.eng': 'Bahasa Inggris',
    'language.jav': 'Bahasa Jawa',
    'language.sun': 'Bahasa Sunda',
    'language.zsm': 'Bahasa Melayu',
  },
  en: {
    title: 'Search reports',
    q: 'Keywords',
    qHint: 'Words, "exact phrases", AND, OR, NOT, or title:word for titles. Example: sabu NOT ganja',
    indicator: 'Indicator',
    any: 'Every indicator',
    region: 'Region',
    regionHint: 'Leave empty for all your regions',
    from: 'From',
    to: 'Until',
    sort: 'Order',
    relevance: 'Best match',
    newest: 'Newest',
    oldest: 'Oldest',
    submit: 'Search',
    clear: 'Clear filters',
    searching: 'Searching…',
    found: '{n} reports found',
    none: 'No report matches. Try other words, or widen the period and region.',
    export: 'Download every result (CSV)',
    exportHint: 'The CSV file holds every matching report (at most 50,000), with times in their region\'s zone.',
    facets: 'Counts by group',
    facetsHint: 'Click to narrow the search.',
    'facet.indicator': 'Indicator',
    'facet.province': 'Province',
    'facet.regency': 'Regency/city',
    'facet.channel': 'Channel',
    'facet.language': 'Language',
    filterOn: 'Filter: {what}',
    removeFilter: 'Remove filter {what}',
    page: 'Page {n} of {of}',
    prev: 'Previous',
    next: 'Next',
    pages: 'Result pages',
    via: 'via {channel}',
    untitled: 'Report from {where}, {when}',
    noRegion: 'region unknown',
    reports: '{n} reports',
    'bad.quote': 'Unbalanced quotes: close the phrase with a second quote mark, as in "bentrok warga".',
    'bad.paren': 'Unbalanced brackets: every "(" needs a closing ")", as in (sabu OR ganja) AND pasar.',
    'bad.operator': 'AND, OR and NOT must stand between two words, as in sabu AND pasar.',
    'bad.field': 'The field "{field}" is unknown. Use title:word to search titles, or remove the colon.',
    'bad.onlyNot': 'The query only excludes (NOT or -). Add the words you look for, as in narkoba NOT ganja.',
    'bad.deep': 'The brackets are nested too deep. Simplify the query.',
    'bad.long': 'The query is too long. Shorten it.',
    'bad.star': 'title:* is not a search. Leave the keywords empty to see every report.',
    'bad.other': 'The query cannot be read. Write words, "phrases", AND, OR, NOT or title:word.',
    'bad.period': 'The "from" date must come before the "until" date.',
    'channel.app': 'the app',
    'channel.web': 'the web',
    'channel.telegram': 'Telegram',
    'channel.whatsapp': 'WhatsApp',
    'channel.sms': 'SMS',
    'channel.email': 'email',
    'channel.feed': 'online news',
    'language.ind': 'Indonesian',
    'language.eng': 'English',
    'language.jav': 'Javanese',
    'language.sun': 'Sundanese',
    'language.zsm': 'Malay',
  },
});

type Key = Parameters<typeof t>[0];
const PER_PAGE = 20;
/** The indicators every node knows; a node's own rules may add more (they come with the facets). */
const INDICATORS = ['narkoba', 'konflik_sosial', 'kerukunan_beragama', 'ideologi', 'demokrasi'];
const FACETS = ['indicator', 'province', 'regency', 'channel', 'language'] as const;

const known = (key: string, fallback: string) => {
  const s = t(key as Key);
  return s === key ? fallback : s;
};
const channelName = (c: string) => known(`channel.${c}`, c);
const languageName = (l: string) => known(`language.${l}`, l);

/** What a facet value says, in words. */
function facetName(facet: string, value: string): string {
  if (facet === 'indicator') return indicatorName(value);
  if (facet === 'channel') return channelName(value);
  if (facet === 'language') return languageName(value);
  return regionName(value);
}

/** The search as the URL states it. */
type Filters = {
  q: string;
  indicator: string;
  region: string;
  from: string;
  to: string;
  sort: string;
  channel: string;
  language: string;
  page: number;
};

function filtersOf(q: URLSearchParams): Filters {
  return {
    q: q.get('q') ?? '',
    indicator: q.get('indicator') ?? '',
    region: q.get('region') ?? '',
    from: q.get('from') ?? '',
    to: q.get('to') ?? '',
    sort: q.get('sort') ?? '',
    channel: q.get('channel') ?? '',
    language: q.get('language') ?? '',
    page: Math.max(1, Number(q.get('page')) || 1),
  };
}

function save(f: Filters) {
  const { page, ...rest } = f;
  setQuery({ ...rest, page: page > 1 ? String(page) : undefined });
}

/** The API's parameters for `f` (without paging). */
function apiParams(f: Filters) {
  return {
    q: f.q.trim() || undefined,
    indicator: f.indicator || undefined,
    region: f.region || undefined,
    from: f.from ? dayStart(f.from, f.region) : undefined,
    to: f.to ? dayEnd(f.to, f.region) : undefined,
    sort: (f.sort || undefined) as 'relevance' | 'newest' | 'oldest' | undefined,
    channel: (f.channel || undefined) as Schemas['Channel'] | undefined,
    language: f.language || undefined,
  };
}

/** The Indonesian (or English) sentence for a query the index cannot read. */
export function queryProblem(q: string, message: string): string {
  const quotes = (q.match(/"/g) ?? []).length;
  if (quotes % 2 === 1) return t('bad.quote');
  let depth = 0;
  let balanced = true;
  for (const c of q.replace(/"[^"]*"/g, '')) {
    if (c === '(') depth++;
    if (c === ')' && --depth < 0) balanced = false;
  }
  if (!balanced || depth !== 0) return t('bad.paren');
  if (/nested/.test(message)) return t('bad.deep');
  if (/at most \d+$/.test(message) && /characters/.test(message)) return t('bad.long');
  if (/:\*/.test(message)) return t('bad.star');
  const field = /Field does not exist: '([^']*)'/.exec(message)?.[1];
  if (field) return t('bad.field', { field });
  if (/Only excluding terms/.test(message)) return t('bad.onlyNot');
  const words = q.trim().split(/\s+/);
  const ops = ['AND', 'OR', 'NOT'];
  if (ops.includes(words[0]) && words[0] !== 'NOT') return t('bad.operator');
  if (ops.includes(words[words.length - 1]) || words.some((w, i) => ops.includes(w) && ops.includes(words[i + 1]) && words[i + 1] !== 'NOT'))
    return t('bad.operator');
  return t('bad.other');
}

/** A snippet from the API: HTML-escaped text with the matched words in
 * `<b>`. Read as text and marks, so nothing in it can become markup. */
export function snippetParts(snippet: string): { text: string; mark: boolean }[] {
  const entities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", '#39': "'", '#x27': "'", '#x2F': '/', '#47': '/' };
  const unescape = (s: string) => s.replace(/&(#x?[0-9a-fA-F]+|[a-z]+);/g, (all, e: string) => {
    if (entities[e]) return entities[e];
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return all;
  });
  const out: { text: string; mark: boolean }[] = [];
  let mark = false;
  for (const piece of snippet.split(/(<\/?b>)/)) {
    if (piece === '<b>') mark = true;
    else if (piece === '</b>') mark = false;
    else if (piece) out.push({ text: unescape(piece), mark });
  }
  return out;
}

function Snippet({ html }: { html: string }) {
  return (
    <p class="snippet">
      {snippetParts(html).map((p, i) => (p.mark ? <mark key={i}>{p.text}</mark> : p.text))}
    </p>
  );
}

export default function Search() {
  lang.value;
  const f = filtersOf(query.value);
  const [form, setForm] = useState<Filters>(f);
  const [result, setResult] = useState<Schemas['SearchResult'] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const key = query.value.toString();

  useEffect(() => {
    const current = filtersOf(query.value);
    setForm(current);
    if (current.from && current.to && current.from > current.to) {
      setResult(null);
      setError(t('bad.period'));
      return;
    }
    let stale = false;
    setBusy(true);
    api
      .GET('/api/v1/search', {
        params: { query: { ...apiParams(current), limit: PER_PAGE, offset: (current.page - 1) * PER_PAGE } },
      })
      .then(({ data, error, response }) => {
        if (stale) return;
        if (data) {
          setResult(data);
          setError(null);
        } else {
          // a stale count under an error would say the wrong thing
          setResult(null);
          const detail = (error as { error?: { code?: string; message?: string } } | undefined)?.error;
          const aboutQ = detail?.code === 'bad_query' || (detail?.code === 'invalid' && detail.message?.startsWith('q:'));
          setError(aboutQ ? queryProblem(current.q, detail?.message ?? '') : errorText(error, response.status));
        }
      })
      .catch(() => {
        if (!stale) {
          setResult(null);
          setError(errorText(null));
        }
      })
      .finally(() => !stale && setBusy(false));
    return () => {
      stale = true;
    };
  }, [key]);

  const submit = (e: Event) => {
    e.preventDefault();
    save({ ...form, page: 1 });
  };
  const narrow = (change: Partial<Filters>) => save({ ...f, ...change, page: 1 });
  const set = (k: keyof Filters) => (e: Event) => setForm({ ...form, [k]: (e.currentTarget as HTMLInputElement).value });

  const total = result?.total ?? 0;
  const pages = Math.max(1, Math.ceil(Math.min(total, 10_000) / PER_PAGE));
  const exportHref = '/api/v1/search/export?' + params(apiParams(f));
  const indicators = [...new Set([...INDICATORS, ...Object.keys(result?.facets.indicator ?? {})])];
  const active = (['channel', 'language'] as const).filter((k) => f[k]);

  return (
    <section class="search">
      <h1>{t('title')}</h1>
      <form class="stack" role="search" onSubmit={submit}>
        <div>
          <label for="search-q">{t('q')}</label>
          <input id="search-q" name="q" type="search" value={form.q} onInput={set('q')} aria-describedby="search-q-hint" />
          <p id="search-q-hint" class="hint">
            {t('qHint')}
          </p>
        </div>
        <div class="row">
          <label>
            {t('indicator')}
            <select name="indicator" value={form.indicator} onChange={set('indicator')}>
              <option value="">{t('any')}</option>
              {indicators.map((i) => (
                <option key={i} value={i}>
                  {indicatorName(i)}
                </option>
              ))}
            </select>
          </label>
          <RegionPicker id="search-region" label={t('region')} hint={t('regionHint')} value={form.region} onChange={(region) => setForm({ ...form, region })} />
        </div>
        <div class="row">
          <label>
            {t('from')}
            <input name="from" type="date" value={form.from} onInput={set('from')} />
          </label>
          <label>
            {t('to')}
            <input name="to" type="date" value={form.to} onInput={set('to')} />
          </label>
          <label>
            {t('sort')}
            <select name="sort" value={form.sort} onChange={set('sort')}>
              <option value="">{form.q.trim() ? t('relevance') : t('newest')}</option>
              <option value="relevance">{t('relevance')}</option>
              <option value="newest">{t('newest')}</option>
              <option value="oldest">{t('oldest')}</option>
            </select>
          </label>
        </div>
        <div class="row">
          <button type="submit">{t('submit')}</button>
          <button type="button" class="secondary" onClick={() => save(filtersOf(new URLSearchParams()))}>
            {t('clear')}
          </button>
        </div>
      </form>

      {active.map((k) => (
        <p key={k} class="filter-on">
          {t('filterOn', { what: k === 'channel' ? channelName(f[k]) : languageName(f[k]) })}{' '}
          <button type="button" class="link" onClick={() => narrow({ [k]: '' })}>
            {t('removeFilter', { what: k === 'channel' ? channelName(f[k]) : languageName(f[k]) })}
          </button>
        </p>
      ))}

      <div aria-live="polite" class="stack">
        {busy && <p aria-busy="true">{t('searching')}</p>}
        {error && (
          <p class="err" role="alert" id="search-error">
            {error}
          </p>
        )}
        {result && (
          <p id="search-total" class="total">
            <strong>{t('found', { n: total.toLocaleString(locale()) })}</strong>
          </p>
        )}
      </div>

      {result && total > 0 && (
        <p class="export">
          <a id="search-export" class="button" href={exportHref} download>
            {t('export')}
          </a>{' '}
          <span class="hint">{t('exportHint')}</span>
        </p>
      )}

      {result && (
        <div class="search-body">
          <div class="results">
            {result.hits.length === 0 && <p>{t('none')}</p>}
            <ol class="hits" start={(f.page - 1) * PER_PAGE + 1}>
              {result.hits.map((h) => (
                <li key={h.id} class="card hit">
                  <h2>
                    <a href={`#/reports/${h.id}`}>{h.title?.trim() || t('untitled', { where: h.regions.length ? placeName(h.regions[0]) : t('noRegion'), when: formatTime(h.received_at, h.regions[0]) })}</a>
                  </h2>
                  <Snippet html={h.snippet} />
                  <p class="meta">
                    {h.indicators.map((i) => (
                      <span key={i} class="tag">
                        {indicatorName(i)}
                      </span>
                    ))}{' '}
                    {h.regions.length ? [...new Set(h.regions.map((r) => placeName(r)))].join(', ') : t('noRegion')} · {formatTime(h.received_at, h.regions[0])} ·{' '}
                    {t('via', { channel: channelName(h.channel) })}
                    {h.source ? ` (${h.source})` : ''}
                  </p>
                </li>
              ))}
            </ol>
            {pages > 1 && (
              <nav class="pager row" aria-label={t('pages')}>
                <button type="button" class="secondary" disabled={f.page <= 1} onClick={() => save({ ...f, page: f.page - 1 })}>
                  {t('prev')}
                </button>
                <span>{t('page', { n: f.page, of: pages })}</span>
                <button type="button" class="secondary" disabled={f.page >= pages} onClick={() => save({ ...f, page: f.page + 1 })}>
                  {t('next')}
                </button>
              </nav>
            )}
          </div>
          {total > 0 && (
            <aside class="facets" aria-labelledby="facets-title">
              <h2 id="facets-title">{t('facets')}</h2>
              <p class="hint">{t('facetsHint')}</p>
              {FACETS.filter((k) => Object.keys(result.facets[k] ?? {}).length).map((k) => (
                <div key={k}>
                  <h3>{t(`facet.${k}` as Key)}</h3>
                  <ul>
                    {Object.entries(result.facets[k])
                      .sort((a, b) => b[1] - a[1])
                      .map(([value, n]) => (
                        <li key={value}>
                          <button
                            type="button"
                            class="link"
                            aria-pressed={(k === 'province' || k === 'regency' ? f.region : f[k]) === value}
                            onClick={() => narrow(k === 'province' || k === 'regency' ? { region: value } : { [k]: value })}
                          >
                            {facetName(k, value)}
                          </button>{' '}
                          <span class="count">{t('reports', { n: n.toLocaleString(locale()) })}</span>
                        </li>
                      ))}
                  </ul>
                </div>
              ))}
            </aside>
          )}
        </div>
      )}
    </section>
  );
}
