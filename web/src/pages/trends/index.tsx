// Trends (analyst, operator, admin): a daily series per indicator for a
// region (uPlot, with its table), the region × indicator table for a period
// at the level below the chosen region (or below the person's own regions),
// the regions rising above their baseline, and the map coloured by the
// highest open alert per region. Choosing a region, in a table or on the
// map, narrows the whole page to it; the choice is kept in the URL.
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { api, errorText, me, type Schemas } from '../../api/client';
import { indicatorName, lang, levelName, locale, words } from '../../i18n';
import { regionName, regions } from '../../lib/regions';
import { query, setQuery } from '../../lib/router';
import { RegionMap, type MapLevel, regionMapWords } from '../../components/RegionMap';
import { RegionPicker, dayEnd, dayStart, daysAgo, within } from '../search/fields';

const t = words({
  id: {
    title: 'Tren dan peta',
    region: 'Wilayah',
    regionHint: 'Kosongkan untuk semua wilayah Anda',
    from: 'Dari tanggal',
    to: 'Sampai tanggal',
    show: 'Tampilkan',
    up: 'Naik ke {name}',
    all: 'semua wilayah Anda',
    series: 'Laporan per hari, {name}',
    seriesLabel: 'Grafik jumlah laporan per hari per indikator di {name}, {from} sampai {to}',
    seriesTable: 'Tabel data grafik',
    daysWib: 'Hari dihitung menurut WIB (UTC+7), untuk semua wilayah.',
    day: 'Tanggal',
    count: 'Jumlah laporan',
    total: 'Jumlah',
    breakdown: 'Laporan per {level} dan indikator',
    breakdownHint: 'Pilih nama wilayah untuk melihat wilayah di bawahnya.',
    unplaced: 'Tanpa {level} yang diketahui',
    'level.province': 'provinsi',
    'level.regency': 'kabupaten/kota',
    'level.district': 'kecamatan',
    'level.village': 'desa/kelurahan',
    rising: 'Wilayah yang meningkat',
    risingHint: '{days} hari terakhir dibandingkan dengan {baseline} hari sebelumnya (disetarakan ke {days} hari).',
    risingNone: 'Tidak ada wilayah yang jumlah laporannya naik di atas biasanya.',
    recent: '{days} hari terakhir',
    expected: 'Biasanya',
    ratio: 'Kenaikan',
    times: '{x}× biasanya',
    indicator: 'Indikator',
    map: 'Peta peringatan',
    mapHint: 'Warna menunjukkan tingkat peringatan terbuka tertinggi; angka adalah jumlah laporan pada periode ini. Pilih wilayah untuk mempersempit halaman.',
    mapLabel: 'Peta {level} dengan tingkat peringatan terbuka',
    mapCounts: 'Peta ini hanya menunjukkan jumlah laporan: peringatan hanya dapat dilihat oleh operator dan admin.',
    alerts: 'Peringatan terbuka',
    noAlert: 'Tidak ada',
    loading: 'Memuat…',
    badPeriod: 'Tanggal "dari" harus sebelum tanggal "sampai".',
  },
  en: {
    title: 'Trends and map',
    region: 'Region',
    regionHint: 'Leave empty for all your regions',
    from: 'From',
    to: 'Until',
    show: 'Show',
    up: 'Up to {name}',
    all: 'all your regions',
    series: 'Reports per day, {name}',
    seriesLabel: 'Chart of reports per day per indicator in {name}, {from} to {to}',
    seriesTable: 'The chart as a table',
    daysWib: 'Days are counted in WIB (UTC+7), for every region.',
    day: 'Day',
    count: 'Reports',
    total: 'Total',
    breakdown: 'Reports per {level} and indicator',
    breakdownHint: 'Choose a region\'s name to see the regions below it.',
    unplaced: 'No known {level}',
    'level.province': 'province',
    'level.regency': 'regency/city',
    'level.district': 'district',
    'level.village': 'village',
    rising: 'Rising regions',
    risingHint: 'The last {days} days against the {baseline} days before (scaled to {days} days).',
    risingNone: 'No region has more reports than usual.',
    recent: 'Last {days} days',
    expected: 'Usual',
    ratio: 'Rise',
    times: '{x}× the usual',
    indicator: 'Indicator',
    map: 'Map of alerts',
    mapHint: 'The colour shows the highest open alert level; the number is the reports of the period. Choose a region to narrow the page.',
    mapLabel: 'Map of {level} with open alert levels',
    mapCounts: 'This map shows report counts only: alerts are for operators and admins.',
    alerts: 'Open alerts',
    noAlert: 'None',
    loading: 'Loading…',
    badPeriod: 'The "from" date must come before the "until" date.',
  },
});

type Key = Parameters<typeof t>[0];
type Level = 'awas' | 'siaga' | 'waspada';

type Series = Schemas['Series'];
type Breakdown = Schemas['Breakdown'];
type Rising = Schemas['Rising'];

// the map's words, counting reports
const mapWords = words({
  id: { ...regionMapWords.id, 'map.count': '{n} laporan', 'map.countHeader': 'Laporan' },
  en: { ...regionMapWords.en, 'map.count': '{n} reports', 'map.countHeader': 'Reports' },
});
const mapLabel = (key: string) => mapWords(key as Parameters<typeof mapWords>[0]);

const COLOURS = ['#0b57b0', '#b00020', '#146c2e', '#8a4b00', '#6a1b9a', '#00695c', '#ad1457', '#37474f'];
const RANK: Record<Level, number> = { waspada: 1, siaga: 2, awas: 3 };
const RECENT_DAYS = 7;
const BASELINE_DAYS = 28;

const levelWord = (level: string) => t(`level.${level}` as Key);
const num = (n: number) => n.toLocaleString(locale());

/** The code of `code` at `level` (`72.71.02` at regency: `72.71`), or null above it. */
function atLevel(code: string, level: string): string | null {
  const parts = ['province', 'regency', 'district', 'village'].indexOf(level) + 1;
  const segs = code.split('.');
  return segs.length >= parts ? segs.slice(0, parts).join('.') : null;
}

function Chart({ series, label }: { series: Series; label: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const ids = Object.keys(series.indicators);
    const xs = series.days.map((d) => Date.parse(d + 'T00:00:00Z') / 1000);
    const width = () => Math.max(280, el.clientWidth);
    const plot = new uPlot(
      {
        width: width(),
        height: 260,
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, Math.ceil(max * 1.1))] } },
        axes: [
          {
            stroke: '#1d1d1f',
            grid: { stroke: '#e4e4e8' },
            values: (_u, splits) => splits.map((s) => new Date(s * 1000).toLocaleDateString(locale(), { timeZone: 'UTC', day: 'numeric', month: 'short' })),
          },
          { label: t('count'), stroke: '#1d1d1f', grid: { stroke: '#e4e4e8' }, values: (_u, vals) => vals.map((v) => (Number.isInteger(v) ? num(v) : '')) },
        ],
        series: [
          { label: t('day'), value: (_u, v) => (v == null ? '' : new Date(v * 1000).toLocaleDateString(locale(), { timeZone: 'UTC', day: 'numeric', month: 'short' })) },
          ...ids.map((id, i) => ({ label: indicatorName(id), stroke: COLOURS[i % COLOURS.length], width: 2, points: { show: series.days.length <= 62 } })),
        ],
      },
      [xs, ...ids.map((id) => series.indicators[id])],
      el,
    );
    const observer = new ResizeObserver(() => plot.setSize({ width: width(), height: 260 }));
    observer.observe(el);
    return () => {
      observer.disconnect();
      plot.destroy();
    };
  }, [series, lang.value]);
  return <div id="trend-chart" class="chart" ref={box} role="img" aria-label={label} />;
}

function SeriesTable({ series }: { series: Series }) {
  const ids = Object.keys(series.indicators);
  return (
    <details class="series-table">
      <summary>{t('seriesTable')}</summary>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">{t('day')}</th>
              {ids.map((id) => (
                <th key={id} scope="col">
                  {indicatorName(id)}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {series.days.map((d, i) => (
              <tr key={d}>
                <th scope="row">{new Date(d + 'T00:00:00Z').toLocaleDateString(locale(), { timeZone: 'UTC', day: 'numeric', month: 'short', year: 'numeric' })}</th>
                {ids.map((id) => (
                  <td key={id}>{num(series.indicators[id][i])}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </details>
  );
}

export default function Trends() {
  lang.value;
  const q = query.value;
  const region = q.get('region') ?? '';
  const from = q.get('from') ?? daysAgo(29);
  const to = q.get('to') ?? daysAgo(0);
  const [form, setForm] = useState({ region, from, to });
  const [series, setSeries] = useState<Series | null>(null);
  const [breakdown, setBreakdown] = useState<Breakdown | null>(null);
  const [rising, setRising] = useState<Rising | null>(null);
  const [alerts, setAlerts] = useState<Record<string, { level: Level; n: number }> | null | 'forbidden'>(null);
  const [error, setError] = useState<string | null>(null);
  const scope = me.value?.regions ?? [];

  useEffect(() => {
    setForm({ region, from, to });
    if (from > to) {
      setError(t('badPeriod'));
      setSeries(null);
      setBreakdown(null);
      setRising(null);
      return;
    }
    setError(null);
    let stale = false;
    // the API counts days in UTC+7 (WIB), so the period is cut there too
    const period = { region: region || undefined, from: dayStart(from), to: dayEnd(to) };
    /** Puts an answer's body in place, or says why there is none. */
    const take =
      <T,>(set: (v: T) => void) =>
      ({ data, error, response }: { data?: T; error?: unknown; response: Response }) => {
        if (stale) return;
        if (data) set(data);
        else setError(errorText(error, response.status));
      };
    const failed = () => !stale && setError(errorText(null));
    setSeries(null);
    setBreakdown(null);
    setRising(null);
    api.GET('/api/v1/stats/series', { params: { query: period } }).then(take(setSeries), failed);
    api.GET('/api/v1/stats/breakdown', { params: { query: period } }).then(take(setBreakdown), failed);
    const recent = { region: period.region, to: period.to, days: RECENT_DAYS, baseline_days: BASELINE_DAYS };
    api.GET('/api/v1/stats/rising', { params: { query: recent } }).then(take(setRising), failed);
    api.GET('/api/v1/alerts', { params: { query: { region: region || undefined, limit: 1000 } } }).then(({ data, response }) => {
      if (stale) return;
      if (!data) return setAlerts(response.status === 403 ? 'forbidden' : {});
      const out: Record<string, { level: Level; n: number }> = {};
      for (const a of data.alerts) {
        if (a.state === 'resolved') continue;
        const code = String(a.region);
        const level = a.level as Level;
        const o = (out[code] ??= { level, n: 0 });
        o.n++;
        if (RANK[level] > RANK[o.level]) o.level = level;
      }
      setAlerts(out);
    });
    return () => {
      stale = true;
    };
  }, [region, from, to]);

  const narrow = (code: string) => setQuery({ region: code || undefined, from: q.get('from') ?? undefined, to: q.get('to') ?? undefined });
  const submit = (e: Event) => {
    e.preventDefault();
    setQuery({ region: form.region || undefined, from: form.from, to: form.to });
  };
  // one level up, while that stays within the person's regions; else all of them
  const above = region ? regions.value.get(region)?.parent : undefined;
  const up = above && within(above, scope) ? above : '';
  const mayGoUp = region && !scope.includes(region);
  const name = region ? regionName(region) : (series?.name ?? t('all'));
  const dateText = (d: string) => new Date(d + 'T00:00:00Z').toLocaleDateString(locale(), { timeZone: 'UTC', day: 'numeric', month: 'long', year: 'numeric' });

  // the highest open alert per region of the breakdown's level
  const byRow: Record<string, { level: Level; n: number }> = {};
  if (breakdown && alerts && alerts !== 'forbidden') {
    for (const [code, a] of Object.entries(alerts)) {
      const at = atLevel(code, breakdown.level);
      if (!at) continue;
      const o = (byRow[at] ??= { level: a.level, n: 0 });
      o.n += a.n;
      if (RANK[a.level] > RANK[o.level]) o.level = a.level;
    }
  }
  const rows = breakdown ? [...breakdown.rows].sort((a, b) => b.total - a.total || a.name.localeCompare(b.name)) : [];

  return (
    <section class="trends">
      <h1>{t('title')}</h1>
      <form class="row" onSubmit={submit}>
        <RegionPicker id="trend-region" label={t('region')} hint={t('regionHint')} scope={scope} value={form.region} onChange={(r) => setForm({ ...form, region: r })} />
        <label>
          {t('from')}
          <input type="date" name="from" value={form.from} onInput={(e) => setForm({ ...form, from: (e.currentTarget as HTMLInputElement).value })} />
        </label>
        <label>
          {t('to')}
          <input type="date" name="to" value={form.to} onInput={(e) => setForm({ ...form, to: (e.currentTarget as HTMLInputElement).value })} />
        </label>
        <button type="submit">{t('show')}</button>
      </form>
      {mayGoUp && (
        <p>
          <button type="button" class="link" onClick={() => narrow(up)}>
            {t('up', { name: up ? regionName(up) : t('all') })}
          </button>
        </p>
      )}
      {error && (
        <p class="err" role="alert">
          {error}
        </p>
      )}

      <h2>{t('series', { name })}</h2>
      <p class="hint">{t('daysWib')}</p>
      {series ? (
        <>
          <Chart series={series} label={t('seriesLabel', { name, from: dateText(from), to: dateText(to) })} />
          <SeriesTable series={series} />
        </>
      ) : (
        !error && <p aria-busy="true">{t('loading')}</p>
      )}

      {breakdown && (
        <>
          <h2>{t('breakdown', { level: levelWord(breakdown.level) })}</h2>
          <p class="hint">{t('breakdownHint')}</p>
          <div class="table-wrap">
            <table id="breakdown">
              <thead>
                <tr>
                  <th scope="col">{t('region')}</th>
                  {breakdown.indicators.map((i) => (
                    <th key={i} scope="col">
                      {indicatorName(i)}
                    </th>
                  ))}
                  <th scope="col">{t('total')}</th>
                  {alerts !== 'forbidden' && <th scope="col">{t('alerts')}</th>}
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={r.region}>
                    <th scope="row">
                      {breakdown.level === 'village' ? (
                        r.name
                      ) : (
                        <button type="button" class="link" onClick={() => narrow(r.region)}>
                          {r.name}
                        </button>
                      )}
                    </th>
                    {breakdown.indicators.map((i) => (
                      <td key={i}>{num(r.counts[i] ?? 0)}</td>
                    ))}
                    <td>
                      <strong>{num(r.total)}</strong>
                    </td>
                    {alerts !== 'forbidden' && (
                      <td>{byRow[r.region] ? <span class={`badge lvl-${byRow[r.region].level}`}>{levelName(byRow[r.region].level)} · {byRow[r.region].n}</span> : t('noAlert')}</td>
                    )}
                  </tr>
                ))}
              </tbody>
              <tfoot>
                {Object.values(breakdown.unplaced).some((n) => n > 0) && (
                  <tr>
                    <th scope="row">{t('unplaced', { level: levelWord(breakdown.level) })}</th>
                    {breakdown.indicators.map((i) => (
                      <td key={i}>{num(breakdown.unplaced[i] ?? 0)}</td>
                    ))}
                    <td>{num(Object.values(breakdown.unplaced).reduce((a, b) => a + b, 0))}</td>
                    {alerts !== 'forbidden' && <td />}
                  </tr>
                )}
                <tr>
                  <th scope="row">{t('total')}</th>
                  {breakdown.indicators.map((i) => (
                    <td key={i}>{num((breakdown.totals[i] ?? 0) + (breakdown.unplaced[i] ?? 0))}</td>
                  ))}
                  <td>
                    <strong>{num([...Object.values(breakdown.totals), ...Object.values(breakdown.unplaced)].reduce((a, b) => a + b, 0))}</strong>
                  </td>
                  {alerts !== 'forbidden' && <td />}
                </tr>
              </tfoot>
            </table>
          </div>
        </>
      )}

      {rising && (
        <>
          <h2>{t('rising')}</h2>
          <p class="hint">{t('risingHint', { days: RECENT_DAYS, baseline: BASELINE_DAYS })}</p>
          {rising.rows.length === 0 ? (
            <p id="rising-none">{t('risingNone')}</p>
          ) : (
            <div class="table-wrap">
              <table id="rising">
                <thead>
                  <tr>
                    <th scope="col">{t('region')}</th>
                    <th scope="col">{t('indicator')}</th>
                    <th scope="col">{t('recent', { days: RECENT_DAYS })}</th>
                    <th scope="col">{t('expected')}</th>
                    <th scope="col">{t('ratio')}</th>
                  </tr>
                </thead>
                <tbody>
                  {rising.rows.map((r) => (
                    <tr key={r.region + r.indicator}>
                      <th scope="row">
                        <button type="button" class="link" onClick={() => narrow(r.region)}>
                          {r.name}
                        </button>
                      </th>
                      <td>{indicatorName(r.indicator)}</td>
                      <td>{num(r.recent)}</td>
                      <td>{r.expected.toLocaleString(locale(), { maximumFractionDigits: 1 })}</td>
                      <td>{t('times', { x: r.ratio.toLocaleString(locale(), { maximumFractionDigits: 1 }) })}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}

      {breakdown && breakdown.level !== 'village' && (
        <>
          <h2>{t('map')}</h2>
          <p class="hint">{alerts === 'forbidden' ? t('mapCounts') : t('mapHint')}</p>
          <div id="trend-map" aria-label={t('mapLabel', { level: levelWord(breakdown.level) })} role="region">
            <RegionMap
              level={breakdown.level as MapLevel}
              parent={region || (scope.length === 1 ? String(scope[0]) : undefined)}
              values={Object.fromEntries(breakdown.rows.map((r) => [r.region, { level: byRow[r.region]?.level, count: r.total }]))}
              names={Object.fromEntries(breakdown.rows.map((r) => [r.region, r.name]))}
              onSelect={narrow}
              label={mapLabel}
            />
          </div>
        </>
      )}
    </section>
  );
}
