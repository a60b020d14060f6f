// Region names, levels and time zones. Names come from GET /api/v1/regions
// (Kemendagri codes); the zone follows from the province.
import { signal } from '@preact/signals';
import { lang, locale } from '../i18n';

export type Region = { code: string; name: string; level: string; parent?: string | null };

export const regions = signal<Map<string, Region>>(new Map());
let loading: Promise<void> | null = null;

async function fetchRegions(query: string): Promise<Region[]> {
  const r = await fetch('/api/v1/regions' + query);
  if (!r.ok) return [];
  const body = (await r.json()) as { regions?: Region[] } | Region[];
  return Array.isArray(body) ? body : (body.regions ?? []);
}

/** Loads the region list once (the browser caches it for a day): provinces
 * and regencies first (a few KB, enough for most names on the first screen),
 * then the districts with them (135 KB compressed). */
export function loadRegions(): Promise<void> {
  loading ??= Promise.all([fetchRegions('?level=province'), fetchRegions('?level=regency')])
    .then(([provinces, regencies]) => {
      const known = new Map(regions.value);
      for (const r of [...provinces, ...regencies]) known.set(r.code, r);
      regions.value = known;
    })
    .then(() => fetchRegions(''))
    .then((all) => {
      if (all.length) regions.value = new Map(all.map((r) => [r.code, r]));
    })
    .catch(() => {
      loading = null;
    });
  return loading;
}

/** "Kota Palu" for `72.71`; the code itself while names are unknown. */
export function regionName(code: string | null | undefined): string {
  if (!code) return lang.value === 'en' ? 'All regions' : 'Semua wilayah';
  return regions.value.get(code)?.name ?? code;
}

/** The region's name with its code, for lists where both help. */
export const regionLabel = (code: string) => {
  const name = regionName(code);
  return name === code ? code : `${name} (${code})`;
};

export type Zone = 'WIB' | 'WITA' | 'WIT';

/** The time zone of a region, from its province (Kemendagri code). */
export function zoneOf(code: string | null | undefined): Zone {
  const p = Number((code ?? '').slice(0, 2));
  if (p >= 81) return 'WIT'; // Maluku, Maluku Utara, the Papua provinces
  if ((p >= 51 && p <= 53) || (p >= 63 && p <= 65) || (p >= 71 && p <= 76)) return 'WITA';
  return 'WIB';
}

const TZ: Record<Zone, string> = { WIB: 'Asia/Jakarta', WITA: 'Asia/Makassar', WIT: 'Asia/Jayapura' };

/** A moment in the region's own zone, with the zone shown: "30 Nov 2026 14.05 WITA". */
export function formatTime(iso: string | null | undefined, region?: string | null): string {
  if (!iso) return '';
  const zone = zoneOf(region ?? '31');
  const s = new Intl.DateTimeFormat(locale(), {
    timeZone: TZ[zone],
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
  }).format(new Date(iso));
  return `${s} ${zone}`;
}

/** "5 menit lalu" / "5 minutes ago". */
export function age(iso: string, now = Date.now()): string {
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  const rtf = new Intl.RelativeTimeFormat(locale(), { numeric: 'auto' });
  const abs = Math.abs(seconds);
  if (abs < 60) return rtf.format(seconds, 'second');
  if (abs < 3600) return rtf.format(Math.round(seconds / 60), 'minute');
  if (abs < 86400) return rtf.format(Math.round(seconds / 3600), 'hour');
  return rtf.format(Math.round(seconds / 86400), 'day');
}
