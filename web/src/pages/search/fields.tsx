// Pieces shared by the analyst's and the admin's pages (search, trends,
// rules, administration): a region picker over the region list, the
// regions of a form, and days in a region's zone.
import { useMemo, useState } from 'preact/hooks';
import { lang, words } from '../../i18n';
import { regionLabel, regionName, regions, zoneOf } from '../../lib/regions';

const t = words({
  id: {
    pick: 'Ketik nama wilayah, lalu pilih dari daftar',
    unknown: 'Wilayah "{text}" tidak ada di daftar. Ketik sebagian nama lalu pilih salah satu saran.',
    remove: 'Hapus {name}',
    none: 'Belum ada wilayah dipilih.',
    add: 'Tambah wilayah',
  },
  en: {
    pick: 'Type a region name, then pick from the list',
    unknown: 'Region "{text}" is not in the list. Type part of a name and pick one of the suggestions.',
    remove: 'Remove {name}',
    none: 'No region chosen yet.',
    add: 'Add a region',
  },
});

/** Query parameters without the empty ones. */
export function params(values: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  return q.toString();
}

const OFFSET: Record<string, string> = { WIB: '+07:00', WITA: '+08:00', WIT: '+09:00' };

/** The start of day `date` (`2026-11-30`) in the zone of `region`, as RFC 3339. */
export function dayStart(date: string, region?: string | null): string {
  return `${date}T00:00:00${OFFSET[zoneOf(region ?? '')]}`;
}

/** The start of the day after `date`: the exclusive end of a period that includes `date`. */
export function dayEnd(date: string, region?: string | null): string {
  const d = new Date(date + 'T00:00:00Z');
  d.setUTCDate(d.getUTCDate() + 1);
  return dayStart(d.toISOString().slice(0, 10), region);
}

/** `n` days before today, as `2026-11-30` (in the browser's calendar). */
export function daysAgo(n: number): string {
  const d = new Date();
  d.setDate(d.getDate() - n);
  const pad = (x: number) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** The name of `code`, or of the nearest region above it that the list
 * names (villages are not listed): `72.71.07.1001` reads "Tawaeli". */
export function placeName(code: string): string {
  for (let c = code; c; c = c.slice(0, Math.max(0, c.lastIndexOf('.')))) {
    if (regions.value.has(c)) return regionName(c);
    if (!c.includes('.')) break;
  }
  return regionName(code);
}

/** Whether `code` lies within one of `scope` (empty: everything). */
export function within(code: string, scope: readonly string[] | undefined): boolean {
  if (!scope || scope.length === 0) return true;
  return scope.some((s) => code === s || code.startsWith(s + '.'));
}

/** A region and the one above it, which tells apart regions of the same name. */
function optionText(code: string): string {
  const r = regions.value.get(code);
  const parent = r?.parent ? regionName(r.parent) : '';
  return parent ? `${regionName(code)}, ${parent} (${code})` : regionLabel(code);
}

const CODE = /\(([0-9.]+)\)\s*$/;

/**
 * A region picker: a text box that suggests regions by name (a datalist of
 * the best 40 matches), limited to `scope` when given. Calls `onChange`
 * with the code of a region picked, or '' when the box is emptied.
 */
export function RegionPicker(props: {
  id: string;
  label: string;
  value: string;
  onChange: (code: string) => void;
  scope?: readonly string[];
  hint?: string;
  required?: boolean;
}) {
  const [text, setText] = useState<string | null>(null);
  const shown = text ?? (props.value ? optionText(props.value) : '');
  const all = regions.value;
  const options = useMemo(() => {
    const needle = (text ?? '').trim().toLowerCase();
    const out: [number, string][] = [];
    for (const r of all.values()) {
      if (!within(r.code, props.scope)) continue;
      const name = r.name.toLowerCase();
      let rank: number;
      if (!needle) rank = r.level === 'province' ? 0 : -1;
      else if (name.startsWith(needle) || r.code.startsWith(needle)) rank = 0;
      else if (name.includes(needle)) rank = 1;
      else rank = -1;
      if (rank < 0) continue;
      out.push([rank * 10 + ['province', 'regency', 'district'].indexOf(r.level), r.code]);
    }
    out.sort((a, b) => a[0] - b[0] || a[1].localeCompare(b[1]));
    return out.slice(0, 40).map(([, code]) => code);
  }, [all, text, props.scope]);
  const unknown = text !== null && text.trim() !== '' && !CODE.test(text);
  const input = (value: string) => {
    setText(value);
    const code = CODE.exec(value)?.[1];
    if (code && all.has(code)) {
      props.onChange(code);
      setText(null);
    } else if (!value.trim()) props.onChange('');
  };
  const listId = props.id + '-list';
  const hintId = props.id + '-hint';
  lang.value;
  return (
    <div class="region-picker">
      <label for={props.id}>{props.label}</label>
      <input
        id={props.id}
        list={listId}
        value={shown}
        autocomplete="off"
        required={props.required}
        aria-describedby={hintId}
        aria-invalid={unknown ? 'true' : undefined}
        onInput={(e) => input((e.currentTarget as HTMLInputElement).value)}
        onBlur={() => text !== null && !text.trim() && setText(null)}
      />
      <datalist id={listId}>
        {options.map((code) => (
          <option key={code} value={optionText(code)} />
        ))}
      </datalist>
      <p id={hintId} class={unknown ? 'err' : 'hint'}>
        {unknown ? t('unknown', { text: text!.trim() }) : (props.hint ?? t('pick'))}
      </p>
    </div>
  );
}

/** Several regions: the ones chosen, each removable, and a picker to add one. */
export function RegionsField(props: {
  id: string;
  label: string;
  value: string[];
  onChange: (codes: string[]) => void;
  scope?: readonly string[];
  hint?: string;
  emptyText?: string;
}) {
  return (
    <fieldset class="regions-field">
      <legend>{props.label}</legend>
      {props.value.length ? (
        <ul class="chips">
          {props.value.map((code) => (
            <li key={code}>
              {regionLabel(code)}{' '}
              <button
                type="button"
                class="link"
                aria-label={t('remove', { name: regionName(code) })}
                onClick={() => props.onChange(props.value.filter((c) => c !== code))}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
      ) : (
        <p class="hint">{props.emptyText ?? t('none')}</p>
      )}
      <RegionPicker
        id={props.id}
        label={t('add')}
        value=""
        scope={props.scope}
        hint={props.hint}
        onChange={(code) => code && !props.value.includes(code) && props.onChange([...props.value, code])}
      />
    </fieldset>
  );
}
