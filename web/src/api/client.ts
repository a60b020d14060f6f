// The API client, typed from the OpenAPI document (schema.d.ts is generated
// by `npm run api` from web/openapi.json, the committed copy of
// /api/v1/openapi.json). The session is an HttpOnly cookie; requests that
// change something also send the session's CSRF token.
import createClient, { type Middleware } from 'openapi-fetch';
import { signal } from '@preact/signals';
import type { components, paths } from './schema';
import { lang, t } from '../i18n';

export type Schemas = components['schemas'];
export type Me = Schemas['AccountView'];

/** The signed-in account; `null` when signed out, `undefined` while unknown. */
export const me = signal<Me | null | undefined>(undefined);

const CSRF = 'csrf';
export const csrfToken = () => localStorage.getItem(CSRF);
export const setCsrfToken = (token: string | null) =>
  token ? localStorage.setItem(CSRF, token) : localStorage.removeItem(CSRF);

const session: Middleware = {
  onRequest({ request }) {
    const token = csrfToken();
    if (request.method !== 'GET' && request.method !== 'HEAD' && token) request.headers.set('X-CSRF-Token', token);
    // the API says what to fix in the app's language (Indonesian where it can)
    request.headers.set('Accept-Language', lang.value);
    return request;
  },
  onResponse({ response, request }) {
    // a lapsed session sends the person back to the sign-in page
    if (response.status === 401 && !request.url.endsWith('/api/v1/session')) me.value = null;
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: '', credentials: 'same-origin' });
api.use(session);

/** Headers for a hand-made `fetch` (multipart, CSV): the CSRF token and the app's language. */
export function sessionHeaders(extra: Record<string, string> = {}): Record<string, string> {
  const token = csrfToken();
  const headers = { ...extra, 'Accept-Language': lang.value };
  return token ? { ...headers, 'X-CSRF-Token': token } : headers;
}

type ErrorLike = { error?: { code?: string; message?: string } } | undefined | null | unknown;

/** What to tell a person about a failed call, in their language. The API's
 * own message (it says what to fix) is kept for input errors: in Indonesian
 * where the API has it, since every call names the app's language. */
export function errorText(error: ErrorLike, status?: number): string {
  const detail = (error as { error?: { code?: string; message?: string } } | undefined)?.error;
  const code = detail?.code ?? '';
  if (status === 401 || code === 'unauthorized') return t('error.unauthorized');
  if (status === 403 || code === 'forbidden') return t('error.forbidden');
  if (status === 404 || code === 'not_found') return t('error.not_found');
  if (status === 429) return t('error.rate_limited');
  if (status === 503 || status === 502) return t('error.unavailable');
  if (detail?.message) return detail.message;
  return t('error.network');
}

/** Loads the signed-in account (or learns that nobody is signed in). The
 * first screen does not wait for it: the account this browser last had (or
 * the sign-in form) shows at once, and a lapsed session turns into the form
 * when its first call answers 401. */
export async function loadMe() {
  if (me.value === undefined) {
    const cached = localStorage.getItem('me');
    me.value = cached ? (JSON.parse(cached) as Me) : null;
  }
  try {
    const { data, response } = await api.GET('/api/v1/me');
    me.value = response.ok && data ? data : null;
  } catch {
    // offline: keep what was known, else show the sign-in page
    const cached = localStorage.getItem('me');
    me.value = cached ? (JSON.parse(cached) as Me) : null;
    return;
  }
  if (me.value) localStorage.setItem('me', JSON.stringify(me.value));
  else localStorage.removeItem('me');
}

export async function signIn(name: string, password: string): Promise<string | null> {
  const { data, error, response } = await api.POST('/api/v1/session', { body: { name, password } });
  if (!response.ok || !data) return response.status === 401 ? t('signin.failed') : errorText(error, response.status);
  setCsrfToken(data.csrf_token);
  await loadMe();
  return null;
}

export async function signOut() {
  await api.DELETE('/api/v1/session').catch(() => undefined);
  setCsrfToken(null);
  localStorage.removeItem('me');
  me.value = null;
}
