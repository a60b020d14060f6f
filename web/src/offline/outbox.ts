// The outbox: every report filed from this browser is written to IndexedDB
// first and sent from there, so that one written with no connection waits
// and goes out when the connection returns (the `online` event, app start,
// and a retry every 30 s while something waits). Each report keeps the
// Idempotency-Key made when its form was opened, on every attempt, and
// leaves the outbox only after a 202 (a duplicate answer is a 202 too): the
// server keeps it exactly once however often it is tried.
import { effect, signal } from '@preact/signals';
import { errorText, me, sessionHeaders } from '../api/client';
import * as store from './store';

export type Submission = { text: string; title?: string; region?: string; reported_at?: string };
/** A file; `field` names the part (a filing's attachment field), else `file`. */
export type QueuedFile = { name: string; type: string; blob: Blob; field?: string };

/** A report waiting in the outbox. */
export type Queued = {
  key: string;
  account: string;
  created: string;
  submission: Submission;
  files: QueuedFile[];
  /** A template's filing (duties pages): sent to its template with this
   * JSON as the `filing` part; `submission` then only describes it. */
  filing?: { template: string; body: Record<string, unknown> };
  /** Why the server refused it; it is not tried again. */
  error?: string;
};

/** A report this browser sent, with its receipt. */
export type Sent = {
  key: string;
  id: string;
  receipt: string;
  text: string;
  region?: string;
  at: string;
  /** For a filing: whether it was on time and its deadline. */
  filing?: { on_time: boolean; deadline?: string | null; period: string };
};

export type Outcome =
  | { kind: 'sent'; sent: Sent }
  | { kind: 'waiting'; why: 'offline' | 'server' | 'signin' }
  | { kind: 'refused'; message: string };

/** The signed-in account's reports in the outbox, oldest first. */
export const waiting = signal<Queued[]>([]);
/** Receipts of the signed-in account's reports sent from this browser, newest first. */
export const sent = signal<Sent[]>([]);

const SENT_KEEP = 50;
const sentKey = (account: string) => `kentongan.sent.${account}`;
/** Where "my reports" keeps the last list it loaded, to show it offline. */
export const mineKey = (account: string) => `kentongan.mine.${account}`;

function loadSent(account: string | undefined) {
  sent.value = account ? (JSON.parse(localStorage.getItem(sentKey(account)) ?? '[]') as Sent[]) : [];
}

function remember(account: string, s: Sent) {
  const list = [s, ...sent.value.filter((x) => x.key !== s.key)].slice(0, SENT_KEEP);
  localStorage.setItem(sentKey(account), JSON.stringify(list));
  sent.value = list;
}

/** A new Idempotency-Key (a random UUID; `crypto.randomUUID` needs a secure context). */
export function newKey(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export async function refresh() {
  const account = me.value?.name;
  const list = account ? await store.all<Queued>() : [];
  waiting.value = list.filter((q) => q.account === account).sort((a, b) => a.created.localeCompare(b.created));
}

/** One attempt to send `item`; removes it from the outbox once the server has it. */
async function send(item: Queued): Promise<Outcome> {
  const form = new FormData();
  if (item.filing) form.append('filing', JSON.stringify(item.filing.body));
  else form.append('report', JSON.stringify(item.submission));
  for (const f of item.files) form.append(f.field ?? 'file', new File([f.blob], f.name, { type: f.type }));
  const url = item.filing ? `/api/v1/templates/${encodeURIComponent(item.filing.template)}/filings` : '/api/v1/reports';
  let response: Response;
  let body: { id?: string; receipt?: string; on_time?: boolean; deadline?: string | null; period?: string } | null;
  try {
    response = await fetch(url, {
      method: 'POST',
      body: form,
      credentials: 'same-origin',
      headers: sessionHeaders({ 'Idempotency-Key': item.key }),
    });
    body = await response.json().catch(() => null);
  } catch {
    return { kind: 'waiting', why: 'offline' };
  }
  if (response.status === 202 && body?.id && body.receipt) {
    const s: Sent = {
      key: item.key,
      id: body.id,
      receipt: body.receipt,
      text: item.submission.text.slice(0, 200),
      region: item.submission.region,
      at: new Date().toISOString(),
      ...(item.filing ? { filing: { on_time: !!body.on_time, deadline: body.deadline, period: body.period ?? '' } } : {}),
    };
    await store.remove(item.key);
    remember(item.account, s);
    return { kind: 'sent', sent: s };
  }
  if (response.status === 401) return { kind: 'waiting', why: 'signin' };
  if (response.status >= 500 || response.status === 408 || response.status === 429 || response.status === 202) {
    return { kind: 'waiting', why: 'server' };
  }
  return { kind: 'refused', message: errorText(body, response.status) };
}

/** One at a time, across this browser's tabs where the browser can tell. */
function exclusive<T>(work: () => Promise<T>): Promise<T> {
  const locks = (navigator as Navigator & { locks?: LockManager }).locks;
  return locks ? (locks.request('kentongan-outbox', work) as Promise<T>) : work();
}

/** Puts a report in the outbox and tries to send it at once. A refused
 * report leaves the outbox again (the form still holds it, to be fixed). */
export async function file(item: Queued): Promise<Outcome> {
  await store.put(item);
  await refresh();
  const outcome = await exclusive(async () => {
    // another tab or the retry may have sent it meanwhile
    const still = await store.get<Queued>(item.key);
    if (!still) {
      const done = sent.value.find((s) => s.key === item.key);
      return done ? ({ kind: 'sent', sent: done } as Outcome) : ({ kind: 'waiting', why: 'server' } as Outcome);
    }
    return send(still);
  });
  if (outcome.kind === 'refused') await store.remove(item.key);
  await refresh();
  return outcome;
}

let flushing: Promise<void> | null = null;

/** Sends what waits, oldest first; stops at the first that cannot go yet. */
export function flush(): Promise<void> {
  flushing ??= exclusive(async () => {
    const account = me.value?.name;
    if (!account) return;
    for (const item of await store.all<Queued>()) {
      if (item.account !== account || item.error) continue;
      const outcome = await send(item);
      if (outcome.kind === 'waiting') break;
      if (outcome.kind === 'refused') await store.put({ ...item, error: outcome.message });
    }
  })
    .catch(() => undefined)
    .then(refresh)
    .finally(() => {
      flushing = null;
    });
  return flushing;
}

/** Drops a report from the outbox (one the server refused). */
export async function discard(key: string) {
  await store.remove(key);
  await refresh();
}

let started = false;

/** Called once when the app starts. */
export function start() {
  if (started) return;
  started = true;
  let account: string | undefined;
  effect(() => {
    const now = me.value?.name;
    if (account && now !== account) {
      // signed out (or someone else signed in): forget the receipts and the list shown
      localStorage.removeItem(sentKey(account));
      localStorage.removeItem(mineKey(account));
    }
    account = now;
    loadSent(now);
    if (now) refresh().then(flush, () => undefined);
    else waiting.value = [];
  });
  window.addEventListener('online', () => void flush());
  setInterval(() => {
    if (waiting.value.some((q) => !q.error) && navigator.onLine) void flush();
  }, 30_000);
}
