// The service worker: keeps the app's shell so that it opens with no
// connection (the report form above all; reports written offline wait in
// IndexedDB, see offline/outbox.ts).
//
// What it keeps: the page, the content-hashed files under /assets/ that the
// page names and that they name in turn (the lazily loaded pages too), the
// icons and manifest, and the public region list. Nothing else from the
// API: answers that hold reports or alerts always come from the network,
// so nothing of one person's is kept for the next one who signs in.
/// <reference lib="webworker" />
export {};
const sw = self as unknown as ServiceWorkerGlobalScope;

const SHELL = 'kentongan-shell-v1';
const PUBLIC = 'kentongan-public-v1';
const KEEP = [SHELL, PUBLIC];

/** Public API answers the app needs offline. */
const isPublicApi = (p: string) => p === '/api/v1/regions';
const isStatic = (p: string) => p === '/manifest.webmanifest' || p.startsWith('/icons/');

/** The files the page names, and those they name, transitively: each kept
 * in `cache` (fetched only when not kept yet: their names change with them). */
async function keepFiles(page: string, cache: Cache): Promise<Set<string>> {
  const found = new Set<string>();
  const todo = names(page);
  while (todo.length) {
    const url = todo.pop()!;
    if (found.has(url)) continue;
    let r = await cache.match(url);
    if (!r) {
      const fetched = await fetch(url).catch(() => null);
      if (!fetched || !fetched.ok) continue;
      await cache.put(url, fetched.clone());
      r = fetched;
    }
    found.add(url);
    if (url.endsWith('.js') || url.endsWith('.css')) todo.push(...names(await r.text()));
  }
  return found;
}

/** `/assets/x-HASH.js` and `./x-HASH.js` (from a chunk under /assets/) in `text`. */
function names(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(/(?:\/assets\/|["'`(]\.\/)([\w.-]+\.(?:js|css))/g)) out.add(`/assets/${m[1]}`);
  return [...out];
}

/** Fetches the page and keeps it with the files it needs; drops older files. */
async function keepShell(): Promise<void> {
  const page = await fetch('/', { cache: 'no-cache' });
  if (!page.ok) return;
  const cache = await caches.open(SHELL);
  const files = await keepFiles(await page.clone().text(), cache);
  await cache.put('/', page);
  for (const request of await cache.keys()) {
    const p = new URL(request.url).pathname;
    if (p.startsWith('/assets/') && !files.has(p)) await cache.delete(request);
  }
}

sw.addEventListener('install', (event) => {
  event.waitUntil(
    Promise.all([
      keepShell(),
      caches.open(PUBLIC).then((c) => c.addAll(['/manifest.webmanifest', '/icons/icon.svg', '/icons/icon-192.png'])),
    ])
      .catch(() => undefined)
      .then(() => sw.skipWaiting()),
  );
});

sw.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => !KEEP.includes(n)).map((n) => caches.delete(n))))
      .then(() => sw.clients.claim()),
  );
});

sw.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== sw.location.origin) return;
  const p = url.pathname;
  if (request.mode === 'navigate' && (p === '/' || p === '/index.html')) {
    // the network first, so a new version shows at once; the kept page offline
    event.respondWith(
      fetch(request)
        .then((r) => {
          if (r.ok) event.waitUntil(keepShell().catch(() => undefined));
          return r;
        })
        .catch(async () => (await caches.match('/', { cacheName: SHELL })) ?? Response.error()),
    );
    return;
  }
  if (p.startsWith('/assets/')) {
    // content-hashed: a kept copy is always right
    event.respondWith(
      caches.match(request, { cacheName: SHELL }).then(
        (hit) =>
          hit ??
          fetch(request).then(async (r) => {
            if (r.ok) await (await caches.open(SHELL)).put(request, r.clone());
            return r;
          }),
      ),
    );
    return;
  }
  if (isPublicApi(p) || isStatic(p)) {
    // the network first (the browser's own cache answers most of these), the kept copy offline
    event.respondWith(
      fetch(request)
        .then(async (r) => {
          if (r.ok) await (await caches.open(PUBLIC)).put(request, r.clone());
          return r;
        })
        .catch(async () => (await caches.match(request, { cacheName: PUBLIC })) ?? Response.error()),
    );
  }
  // everything else (the API, the map data) goes to the network as usual
});
