// The region picker: a combobox over the real region list (provinces,
// regencies and cities, districts) within the person's regions, searched
// by name; arrows move, Enter picks, Escape closes.
import { useMemo, useState } from 'preact/hooks';
import { regions, type Region } from '../../lib/regions';
import { w } from './words';

const MAX_SHOWN = 30;

/** Lower case without accents, for matching names as people type them. */
export const fold = (s: string) =>
  s
    .toLowerCase()
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '');

const PREFIXES = /^(kota|kabupaten|kab\.?|kecamatan|provinsi)\s+/;

/** Whether `code` lies within one of `scope` (empty: every region). */
export const within = (code: string, scope: string[]) =>
  scope.length === 0 || scope.some((s) => code === s || code.startsWith(s + '.'));

/** The regions whose names match `query`, best first. */
export function search(query: string, scope: string[]): Region[] {
  const words = fold(query).split(/[^a-z0-9]+/).filter(Boolean);
  if (!words.length) return [];
  const q = words.join(' ');
  const hits: [number, Region][] = [];
  for (const r of regions.value.values()) {
    if (!within(r.code, scope)) continue;
    const name = fold(r.name);
    const parts = name.split(/[^a-z0-9]+/);
    if (!words.every((wd) => parts.some((p) => p.startsWith(wd)))) continue;
    const bare = name.replace(PREFIXES, '');
    const rank = (bare === q ? 0 : bare.startsWith(q) ? 1 : name.includes(q) ? 2 : 3) * 10 + levelRank(r.level);
    hits.push([rank, r]);
  }
  hits.sort((a, b) => a[0] - b[0] || a[1].name.localeCompare(b[1].name) || a[1].code.localeCompare(b[1].code));
  return hits.slice(0, MAX_SHOWN).map(([, r]) => r);
}

const levelRank = (level: string) => (level === 'province' ? 0 : level === 'regency' ? 1 : 2);

/** "Palu Barat, Kota Palu, Sulawesi Tengah" */
export function placeName(code: string): string {
  const names: string[] = [];
  for (let c: string | null | undefined = code; c; c = regions.value.get(c)?.parent) {
    const r = regions.value.get(c);
    if (!r) break;
    names.push(r.name);
  }
  return names.join(', ') || code;
}

type Props = { value: string; onChange: (code: string) => void; scope: string[]; invalid?: boolean };

export function RegionPicker({ value, onChange, scope, invalid }: Props) {
  const [text, setText] = useState(() => (value ? regions.value.get(value)?.name ?? '' : ''));
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const [shownFor, setShownFor] = useState(value);
  // a region set from outside (the location button) shows its name
  if (value !== shownFor) {
    setShownFor(value);
    if (value) setText(regions.value.get(value)?.name ?? value);
  }
  const options = useMemo(() => search(text, scope), [text, scope.join(','), regions.value]);
  const loading = regions.value.size === 0;
  const pick = (r: Region) => {
    setText(r.name);
    setShownFor(r.code);
    onChange(r.code);
    setOpen(false);
  };
  const onKey = (e: KeyboardEvent) => {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      setOpen(true);
      const step = e.key === 'ArrowDown' ? 1 : -1;
      setActive((a) => (options.length ? (a + step + options.length) % options.length : 0));
    } else if (e.key === 'Enter' && open && options[active]) {
      e.preventDefault();
      pick(options[active]);
    } else if (e.key === 'Escape') {
      setOpen(false);
    }
  };
  const shown = open && text.trim() !== '' && !(value && regions.value.get(value)?.name === text);
  return (
    <div class="picker">
      <label for="region-input">{w('region')}</label>
      <p class="hint" id="region-hint">
        {loading ? w('regionLoading') : w('regionHint')}
      </p>
      <input
        id="region-input"
        role="combobox"
        autocomplete="off"
        aria-autocomplete="list"
        aria-expanded={shown}
        aria-controls="region-options"
        aria-describedby="region-hint region-chosen"
        aria-invalid={invalid}
        aria-activedescendant={shown && options[active] ? `region-${options[active].code}` : undefined}
        value={text}
        onInput={(e) => {
          setText((e.currentTarget as HTMLInputElement).value);
          setActive(0);
          setOpen(true);
          if (value) onChange('');
        }}
        onKeyDown={onKey}
        // typing searches afresh; the chosen region stays until another is picked
        onFocus={() => value && setText('')}
        onBlur={() =>
          setTimeout(() => {
            setOpen(false);
            if (value) setText(regions.value.get(value)?.name ?? value);
          }, 150)
        }
      />
      <ul id="region-options" role="listbox" aria-label={w('region')} hidden={!shown} class="options">
        {shown && options.length === 0 && (
          <li role="option" aria-disabled="true" aria-selected="false" class="meta">
            {w('regionNone')}
          </li>
        )}
        {shown &&
          options.map((r, i) => (
            <li
              key={r.code}
              id={`region-${r.code}`}
              role="option"
              aria-selected={i === active}
              class={i === active ? 'active' : ''}
              onMouseDown={(e) => {
                e.preventDefault();
                pick(r);
              }}
            >
              <strong>{r.name}</strong>{' '}
              <span class="meta">
                {r.parent ? placeName(r.parent) + ' · ' : ''}
                {w(r.level as 'province' | 'regency' | 'district')}
              </span>
            </li>
          ))}
      </ul>
      <p id="region-chosen" class="meta" aria-live="polite">
        {value ? w('regionChosen', { name: placeName(value) }) : ''}
      </p>
    </div>
  );
}
