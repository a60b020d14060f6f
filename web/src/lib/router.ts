// Hash routes (`#/alerts/<id>`), so that links in emails and the service
// worker need nothing from the server but the one page.
import { signal } from '@preact/signals';

const current = () => (location.hash.replace(/^#/, '') || '/').split('?')[0];
const currentQuery = () => new URLSearchParams(location.hash.split('?')[1] ?? '');

export const path = signal(current());
export const query = signal(currentQuery());

window.addEventListener('hashchange', () => {
  path.value = current();
  query.value = currentQuery();
});

export function navigate(to: string) {
  location.hash = to.startsWith('#') ? to : '#' + to;
}

/** Replaces the query of the current route without a new history entry. */
export function setQuery(params: Record<string, string | undefined>) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  history.replaceState(null, '', '#' + path.value + (s ? '?' + s : ''));
  query.value = q;
}

/** Matches `/alerts/:id` against a path: the named parts, or null. */
export function match(pattern: string, p: string): Record<string, string> | null {
  const a = pattern.split('/');
  const b = p.split('/');
  if (a.length !== b.length) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i < a.length; i++) {
    if (a[i].startsWith(':')) out[a[i].slice(1)] = decodeURIComponent(b[i]);
    else if (a[i] !== b[i]) return null;
  }
  return out;
}
