// A tiny promise wrapper over one IndexedDB object store: the reports that
// wait to be sent (with their files as Blobs), by Idempotency-Key.

const DB = 'kentongan';
const STORE = 'outbox';

let opened: Promise<IDBDatabase> | null = null;

function db(): Promise<IDBDatabase> {
  opened ??= new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'key' });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => {
      opened = null;
      reject(req.error);
    };
  });
  return opened;
}

function run<T>(mode: IDBTransactionMode, work: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  return db().then(
    (d) =>
      new Promise<T>((resolve, reject) => {
        const tx = d.transaction(STORE, mode);
        const req = work(tx.objectStore(STORE));
        tx.oncomplete = () => resolve(req.result);
        tx.onerror = () => reject(tx.error);
        tx.onabort = () => reject(tx.error);
      }),
  );
}

export const put = <T>(value: T) => run('readwrite', (s) => s.put(value)).then(() => undefined);
export const remove = (key: string) => run('readwrite', (s) => s.delete(key)).then(() => undefined);
export const get = <T>(key: string) => run<T | undefined>('readonly', (s) => s.get(key));
export const all = <T>() => run<T[]>('readonly', (s) => s.getAll());
