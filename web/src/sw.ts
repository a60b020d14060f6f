// The service worker (owned by WEB-A): caches the shell for offline use.
export {};
