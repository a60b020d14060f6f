// What the duties pages share: the templates (kept in this browser so that
// a form opens with no connection), which regions of an account file a
// template, and the API's part-named error messages.
import { api, errorText, type Schemas } from '../../api/client';
import { regions } from '../../lib/regions';

export type Template = Schemas['Template'];
export type Field = Schemas['TemplateField'];
export type Filers = Schemas['TemplateFilers'];

const KEY = 'kentongan.templates';

/** The templates the account sees; the last list loaded when offline. */
export async function loadTemplates(): Promise<{ templates: Template[]; offline: boolean; error?: string }> {
  try {
    const { data, error, response } = await api.GET('/api/v1/templates');
    if (data) {
      localStorage.setItem(KEY, JSON.stringify(data.templates));
      return { templates: data.templates, offline: false };
    }
    return { templates: cached(), offline: false, error: errorText(error, response.status) };
  } catch {
    return { templates: cached(), offline: true };
  }
}

export const cached = (): Template[] => JSON.parse(localStorage.getItem(KEY) ?? '[]') as Template[];

const LEVELS = ['province', 'regency', 'district', 'village'];
export const levelOf = (code: string) => LEVELS[code.split('.').length - 1] ?? 'village';

/** Whether the region must file the template (as the API's `Filers::expects`). */
export function expects(filers: Filers, code: string): boolean {
  if (filers.regions?.length) return filers.regions.includes(code);
  const inside = !filers.within?.length || filers.within.some((w) => code === w || code.startsWith(w + '.'));
  return inside && (filers.levels ?? []).includes(levelOf(code) as Schemas['RegionLevel']);
}

/** The regions an account files for: its own regions that are filers, and
 * (for a province or national account) none below, which file themselves. */
export function fileableRegions(filers: Filers, scope: string[]): string[] {
  if (scope.length) return scope.filter((c) => expects(filers, c));
  // national: every filer region known, provinces first
  return [...regions.value.values()]
    .filter((r) => (r.level === 'province' || r.level === 'regency') && expects(filers, r.code))
    .map((r) => r.code)
    .sort();
}

/** `values.situasi_narkoba.incidents[0].text: must not be empty` →
 * the part (`values.situasi_narkoba.incidents[0].text`) and the message. */
export function partOf(message: string): { part: string; message: string } | null {
  const m = /^([A-Za-z_][\w-]*(?:\[\d+\])?(?:\.[\w-]+(?:\[\d+\])?)*): (.+)$/s.exec(message);
  return m ? { part: m[1], message: m[2] } : null;
}

/** A 0..1 rate as "75%". */
export const percent = (rate: number) => `${Math.round(rate * 100)}%`;

/** GET a JSON answer of the API: its body, or what to tell the person. */
export async function getJson<T>(url: string): Promise<{ data?: T; error?: string }> {
  try {
    const r = await fetch(url, { credentials: 'same-origin' });
    const body = await r.json().catch(() => null);
    return r.ok && body ? { data: body as T } : { error: errorText(body, r.status) };
  } catch {
    return { error: errorText(null) };
  }
}
