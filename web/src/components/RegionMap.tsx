// A map of regions coloured by alert level, with a legend and a table of the
// same data. The outlines are the simplified TopoJSON files of /map/ (built
// by web/map/refresh from cahyadsn/wilayah_boundaries, MIT; see
// web/map/README.md), fetched when first needed and kept for the session.
//
// Each region is a keyboard stop whose accessible name says its name, level
// and count; Enter, Space or a click selects it. The table below the map says
// the same for screen readers and, on request, for everyone.
import type { FeatureCollection, Geometry } from 'geojson';
import type { GeometryCollection, Topology } from 'topojson-specification';
import { geoMercator, geoPath } from 'd3-geo';
import { feature } from 'topojson-client';
import { useEffect, useMemo, useState } from 'preact/hooks';

export type MapLevel = 'province' | 'regency' | 'district';
export type AlertLevel = 'awas' | 'siaga' | 'waspada';

export type RegionMapProps = {
  /** Which regions to draw: the provinces, or the regencies or districts of `parent`. */
  level: MapLevel;
  /** The province (`72`) whose regencies, or the regency (`72.71`) whose districts, are drawn. */
  parent?: string;
  /** By region code; a region without an entry (or with level null or undefined) has no alert, and a count of 0 if absent. */
  values: Record<string, { level?: AlertLevel | null; count: number }>;
  /** Region names by code; the map file's own name is the fallback. */
  names?: Record<string, string>;
  onSelect?: (code: string) => void;
  /** Translates the keys of `regionMapWords` (and `level.*`); a key it returns unchanged gets the Indonesian default. */
  label: (key: string) => string;
};

/** The words the map uses, for a page's `words(...)`. `{n}` is the count; a page
 * that knows what it counts says so (`'{n} laporan'`, `'{n} reports'`). */
export const regionMapWords = {
  id: {
    'level.awas': 'Awas',
    'level.siaga': 'Siaga',
    'level.waspada': 'Waspada',
    'map.none': 'Tidak ada peringatan',
    'map.title': 'Peta tingkat peringatan per wilayah',
    'map.legend': 'Keterangan warna',
    'map.region': 'Wilayah',
    'map.level': 'Tingkat',
    'map.countHeader': 'Jumlah',
    'map.count': 'jumlah {n}',
    'map.showTable': 'Tampilkan sebagai tabel',
    'map.hideTable': 'Sembunyikan tabel',
    'map.loading': 'Memuat peta…',
    'map.failed': 'Peta tidak dapat dimuat. Datanya ada di tabel di bawah.',
    'map.noParent': 'Pilih wilayah induk untuk melihat peta.',
    'map.hint': 'Pilih wilayah dengan klik, atau dengan Tab lalu Enter.',
  },
  en: {
    'level.awas': 'Alert (awas)',
    'level.siaga': 'Standby (siaga)',
    'level.waspada': 'Watch (waspada)',
    'map.none': 'No alert',
    'map.title': 'Map of alert levels by region',
    'map.legend': 'Colour key',
    'map.region': 'Region',
    'map.level': 'Level',
    'map.countHeader': 'Count',
    'map.count': 'count {n}',
    'map.showTable': 'Show as a table',
    'map.hideTable': 'Hide the table',
    'map.loading': 'Loading the map…',
    'map.failed': 'The map could not be loaded. Its data is in the table below.',
    'map.noParent': 'Choose a parent region to see its map.',
    'map.hint': 'Choose a region with a click, or with Tab and then Enter.',
  },
};
type Key = keyof (typeof regionMapWords)['id'];

// Fills, from the most to the least urgent, darkest first so that the order
// also shows in grey scale; outlines are dark grey (5.7:1 on white) so that
// pale regions stand out from the page. Levels are never told by colour
// alone: the legend, the names of the regions and the table say them.
const FILL: Record<AlertLevel | 'none', string> = {
  awas: '#b00020', // red
  siaga: '#e8710a', // orange
  waspada: '#f7d038', // yellow
  none: '#e6e6e9', // light grey
};
const OUTLINE = '#5f5f66';
const FOCUS = '#1a73e8';
const ORDER: (AlertLevel | 'none')[] = ['awas', 'siaga', 'waspada', 'none'];
const RANK: Record<AlertLevel | 'none', number> = { awas: 0, siaga: 1, waspada: 2, none: 3 };

const HIDDEN = {
  position: 'absolute',
  width: '1px',
  height: '1px',
  margin: '-1px',
  padding: 0,
  overflow: 'hidden',
  clip: 'rect(0 0 0 0)',
  whiteSpace: 'nowrap',
  border: 0,
} as const;

type Regions = FeatureCollection<Geometry, { name: string }>;
type RegionTopology = Topology<{ regions: GeometryCollection<{ name: string }> }>;

/** The file of /map/ with the regions asked for, or null if `parent` is missing or malformed. */
export function mapUrl(level: MapLevel, parent?: string): string | null {
  if (level === 'province') return '/map/provinces.json';
  if (level === 'regency' && parent && /^\d{2}$/.test(parent)) return `/map/regencies-${parent}.json`;
  if (level === 'district' && parent && /^\d{2}\.\d{2}$/.test(parent)) return `/map/districts-${parent}.json`;
  return null;
}

const cache = new Map<string, Promise<Regions>>();

function load(url: string): Promise<Regions> {
  let p = cache.get(url);
  if (!p) {
    p = fetch(url)
      .then((r) => {
        if (!r.ok) throw new Error(`${url}: ${r.status}`);
        return r.json() as Promise<RegionTopology>;
      })
      .then((t) => feature(t, t.objects.regions) as Regions);
    // a failed load is tried again next time
    p.catch(() => cache.delete(url));
    cache.set(url, p);
  }
  return p;
}

/** Whether `code` is a region of `level` under `parent` (`72.71` is a regency of `72`). */
function belongs(code: string, level: MapLevel, parent?: string): boolean {
  const depth = { province: 1, regency: 2, district: 3 }[level];
  const parts = code.split('.');
  if (parts.length !== depth || !parts.every((p) => /^\d{2}$/.test(p))) return false;
  return level === 'province' || parts.slice(0, -1).join('.') === parent;
}

const W = 1000; // the width of the drawing's coordinate space; the SVG scales to its box

export function RegionMap({ level, parent, values, names, onSelect, label }: RegionMapProps) {
  const say = (key: Key) => {
    const s = label(key);
    return s === key ? regionMapWords.id[key] : s;
  };
  const url = mapUrl(level, parent);
  const [regions, setRegions] = useState<Regions | null>(null);
  const [failed, setFailed] = useState(false);
  const [active, setActive] = useState<string | null>(null);
  const [tableShown, setTableShown] = useState(false);

  useEffect(() => {
    setRegions(null);
    setFailed(false);
    setActive(null);
    if (!url) return;
    let current = true;
    load(url).then(
      (r) => current && setRegions(r),
      () => current && setFailed(true),
    );
    return () => {
      current = false;
    };
  }, [url]);

  // Project once per file: Mercator fitted to the drawing's width.
  const drawing = useMemo(() => {
    if (!regions) return null;
    const projection = geoMercator().fitWidth(W, regions);
    const path = geoPath(projection).digits(1);
    const [[, y0], [, y1]] = path.bounds(regions);
    const shapes = new Map(regions.features.map((f) => [String(f.id), { d: path(f) ?? '', name: f.properties.name }]));
    return { shapes, viewBox: `0 ${Math.floor(y0) - 2} ${W} ${Math.ceil(y1 - y0) + 4}` };
  }, [regions]);

  // The rows of the table and the names on the map: every region of the file,
  // and any region of `values` at this level that the file lacks.
  const rows = useMemo(() => {
    const codes = new Set(drawing ? drawing.shapes.keys() : []);
    for (const code of Object.keys(values)) if (belongs(code, level, parent)) codes.add(code);
    return [...codes]
      .map((code) => {
        const v = values[code];
        const lvl: AlertLevel | 'none' = v?.level ?? 'none';
        return { code, name: names?.[code] ?? drawing?.shapes.get(code)?.name ?? code, level: lvl, count: v?.count ?? 0 };
      })
      .sort((a, b) => RANK[a.level] - RANK[b.level] || b.count - a.count || a.name.localeCompare(b.name));
  }, [drawing, values, names, level, parent]);

  const levelText = (l: AlertLevel | 'none') => (l === 'none' ? say('map.none') : say(`level.${l}`));
  const countText = (n: number) => say('map.count').split('{n}').join(String(n));
  const describe = (r: (typeof rows)[number]) => `${r.name}: ${levelText(r.level)}, ${countText(r.count)}`;
  const byCode = new Map(rows.map((r) => [r.code, r]));
  const perLevel = (l: AlertLevel | 'none') => rows.filter((r) => r.level === l).length;
  const activeRow = active ? byCode.get(active) : undefined;
  const select = (code: string) => onSelect?.(code);

  return (
    <figure style={{ margin: 0, maxWidth: '100%' }}>
      <figcaption style={HIDDEN}>{say('map.title')}</figcaption>
      {!url && <p>{say('map.noParent')}</p>}
      {url && !drawing && !failed && <p aria-busy="true">{say('map.loading')}</p>}
      {failed && <p role="alert">{say('map.failed')}</p>}
      {drawing && (
        <svg
          viewBox={drawing.viewBox}
          role="group"
          aria-label={say('map.title')}
          style={{ display: 'block', width: '100%', height: 'auto', maxHeight: '70vh', background: '#fff' }}
        >
          {rows.map((r) => {
            const shape = drawing.shapes.get(r.code);
            if (!shape) return null;
            return (
              <path
                key={r.code}
                d={shape.d}
                fill={FILL[r.level]}
                stroke={OUTLINE}
                stroke-width={0.75}
                vector-effect="non-scaling-stroke"
                tabIndex={0}
                role={onSelect ? 'button' : 'img'}
                aria-label={describe(r)}
                style={{ outline: 'none', cursor: onSelect ? 'pointer' : 'default' }}
                onFocus={() => setActive(r.code)}
                onBlur={() => setActive((a) => (a === r.code ? null : a))}
                onMouseEnter={() => setActive(r.code)}
                onMouseLeave={() => setActive((a) => (a === r.code ? null : a))}
                onClick={() => select(r.code)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter' || e.key === ' ') {
                    e.preventDefault();
                    select(r.code);
                  }
                }}
              />
            );
          })}
          <g aria-hidden="true" fill="none" stroke={OUTLINE} style={{ pointerEvents: 'none' }}>
            {/* the outlines of regions with an alert, most urgent on top, over neighbours that overlap them */}
            {rows
              .filter((r) => r.level !== 'none' && drawing.shapes.has(r.code))
              .reverse()
              .map((r) => (
                <path key={r.code} d={drawing.shapes.get(r.code)!.d} stroke-width={0.75} vector-effect="non-scaling-stroke" />
              ))}
          </g>
          {active && drawing.shapes.get(active) && (
            // the focused or hovered region's outline, drawn on top
            <g aria-hidden="true" style={{ pointerEvents: 'none' }} fill="none">
              <path d={drawing.shapes.get(active)!.d} stroke="#fff" stroke-width={5} vector-effect="non-scaling-stroke" />
              <path d={drawing.shapes.get(active)!.d} stroke={FOCUS} stroke-width={3} vector-effect="non-scaling-stroke" />
            </g>
          )}
        </svg>
      )}
      {drawing && (
        // what the pointer or the keyboard is on, for those who see the map
        <p aria-hidden="true" style={{ minHeight: '1.5em', margin: '.3rem 0', fontSize: '.95rem' }}>
          {activeRow ? describe(activeRow) : onSelect ? say('map.hint') : ''}
        </p>
      )}
      <div role="group" aria-label={say('map.legend')}>
        <ul style={{ display: 'flex', flexWrap: 'wrap', gap: '.3rem 1rem', listStyle: 'none', margin: '.3rem 0', padding: 0 }}>
          {ORDER.map((l) => (
            <li key={l} style={{ display: 'flex', alignItems: 'center', gap: '.35rem' }}>
              <span
                aria-hidden="true"
                style={{
                  display: 'inline-block',
                  width: '1.1em',
                  height: '1.1em',
                  background: FILL[l],
                  border: `1px solid ${OUTLINE}`,
                  borderRadius: '2px',
                }}
              />
              {levelText(l)} ({perLevel(l)})
            </li>
          ))}
        </ul>
      </div>
      <button
        type="button"
        class="link"
        aria-expanded={tableShown || failed}
        hidden={failed}
        onClick={() => setTableShown((s) => !s)}
      >
        {tableShown ? say('map.hideTable') : say('map.showTable')}
      </button>
      <div style={tableShown || failed ? { overflowX: 'auto', maxWidth: '100%' } : HIDDEN}>
        <table>
          <caption style={HIDDEN}>{say('map.title')}</caption>
          <thead>
            <tr>
              <th scope="col">{say('map.region')}</th>
              <th scope="col">{say('map.level')}</th>
              <th scope="col" style={{ textAlign: 'right' }}>
                {say('map.countHeader')}
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.code}>
                <th scope="row" style={{ fontWeight: 'normal', textAlign: 'left' }}>
                  {/* a hidden table holds no keyboard stops: the map has them */}
                  {onSelect && (tableShown || failed) ? (
                    <button type="button" class="link" style={{ textAlign: 'left' }} onClick={() => select(r.code)}>
                      {r.name}
                    </button>
                  ) : (
                    r.name
                  )}
                </th>
                <td>
                  <span
                    aria-hidden="true"
                    style={{
                      display: 'inline-block',
                      width: '.8em',
                      height: '.8em',
                      marginRight: '.35em',
                      background: FILL[r.level],
                      border: `1px solid ${OUTLINE}`,
                    }}
                  />
                  {levelText(r.level)}
                </td>
                <td style={{ textAlign: 'right' }}>{r.count}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </figure>
  );
}

export default RegionMap;
