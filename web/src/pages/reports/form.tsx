// The report form: text, title, region (picked by name, or from the phone's
// location when the officer asks), photos and documents. Every report goes
// through the outbox (offline/outbox.ts) with the Idempotency-Key made when
// the form was opened; the officer gets the receipt, or is told that the
// report waits for a connection and then gets the receipt.
import { useEffect, useRef, useState } from 'preact/hooks';
import { me } from '../../api/client';
import { regions, type Region } from '../../lib/regions';
import { file, newKey, sent, type Outcome, type Sent } from '../../offline/outbox';
import { size } from './attachments';
import { placeName, RegionPicker, within } from './picker';
import { w } from './words';

type Where = { kind: 'busy' } | { kind: 'ok'; code: string } | { kind: 'err'; message: string } | null;

/** The district (else regency) within `scope` whose centroid is nearest to the point. */
function nearest(lat: number, lon: number, scope: string[]): Region | null {
  let best: Region | null = null;
  let bestD = Infinity;
  const k = Math.cos((lat * Math.PI) / 180);
  for (const r of regions.value.values() as Iterable<Region & { lat?: number; lon?: number }>) {
    if (r.level !== 'district' || r.lat == null || r.lon == null || !within(r.code, scope)) continue;
    const d = (r.lat - lat) ** 2 + ((r.lon - lon) * k) ** 2;
    if (d < bestD) {
      bestD = d;
      best = r;
    }
  }
  // farther than about 50 km from every district centroid in scope: not here
  return bestD < 0.45 ** 2 ? best : null;
}

export function ReportForm() {
  const account = me.value!;
  const scope = account.regions ?? [];
  const only = scope.length === 1 ? scope[0] : '';
  const [key, setKey] = useState(newKey);
  const [text, setText] = useState('');
  const [title, setTitle] = useState('');
  const [region, setRegion] = useState(only);
  const [files, setFiles] = useState<File[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [regionMissing, setRegionMissing] = useState(false);
  const [where, setWhere] = useState<Where>(null);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [pendingKey, setPendingKey] = useState<string | null>(null);
  const result = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (outcome) result.current?.focus();
  }, [outcome]);

  const reset = () => {
    setKey(newKey());
    setText('');
    setTitle('');
    setRegion(only);
    setFiles([]);
    setError(null);
    setWhere(null);
    setOutcome(null);
    setPendingKey(null);
  };

  const add = (e: Event) => {
    const input = e.currentTarget as HTMLInputElement;
    setFiles((now) => [...now, ...Array.from(input.files ?? [])]);
    input.value = '';
  };

  const locate = () => {
    if (!('geolocation' in navigator)) {
      setWhere({ kind: 'err', message: w('locateFailed') });
      return;
    }
    setWhere({ kind: 'busy' });
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        const r = nearest(pos.coords.latitude, pos.coords.longitude, scope);
        if (!r) {
          setWhere({ kind: 'err', message: w('locateNone') });
          return;
        }
        setRegion(r.code);
        setWhere({ kind: 'ok', code: r.code });
      },
      (e) => setWhere({ kind: 'err', message: e.code === e.PERMISSION_DENIED ? w('locateDenied') : w('locateFailed') }),
      { enableHighAccuracy: true, timeout: 20_000, maximumAge: 60_000 },
    );
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    if (!text.trim()) {
      setError(w('needText'));
      return;
    }
    if (!region && scope.length !== 0) {
      setRegionMissing(true);
      setError(w('regionRequired'));
      return;
    }
    setRegionMissing(false);
    setBusy(true);
    try {
      const got = await file({
        key,
        account: account.name,
        created: new Date().toISOString(),
        // the same body on every attempt: the server tells a retry by it
        submission: {
          text: text.trim(),
          ...(title.trim() ? { title: title.trim() } : {}),
          ...(region ? { region } : {}),
          reported_at: new Date().toISOString(),
        },
        files: files.map((f) => ({ name: f.name, type: f.type, blob: f })),
      });
      if (got.kind === 'refused') {
        setError(w('refused', { message: got.message }));
        // the body is changed to fix it: a new report, a new key
        setKey(newKey());
      } else {
        setOutcome(got);
        setPendingKey(key);
      }
    } catch (err) {
      setError(String(err));
    } finally {
      setBusy(false);
    }
  };

  // a waiting report that the outbox sent later shows its receipt here
  const later = pendingKey ? sent.value.find((s) => s.key === pendingKey) : undefined;
  const done: Sent | undefined = outcome?.kind === 'sent' ? outcome.sent : later;
  if (outcome) {
    return (
      <section aria-labelledby="result-title">
        <div ref={result} tabIndex={-1} class="card result">
          {done ? (
            <Receipt sent={done} />
          ) : (
            <div class="waiting" role="status">
              <h1 id="result-title">{w('waitingTitle')}</h1>
              <p>
                {outcome.kind === 'waiting' && outcome.why === 'signin'
                  ? w('waitingSignin')
                  : outcome.kind === 'waiting' && outcome.why === 'server'
                    ? w('waitingServer')
                    : w('waitingText')}
              </p>
              <p>
                <a href="#/reports/mine">{w('mineTitle')}</a>
              </p>
            </div>
          )}
          <p>
            <button type="button" class="secondary" onClick={reset}>
              {w('another')}
            </button>
          </p>
        </div>
      </section>
    );
  }

  return (
    <section aria-labelledby="form-title">
      <h1 id="form-title">{w('newTitle')}</h1>
      <p class="sub">{w('newIntro')}</p>
      <form class="report-form stack" onSubmit={submit} noValidate>
        <label>
          {w('text')}
          <span class="hint"> {w('textHint')}</span>
          <textarea
            name="text"
            required
            rows={6}
            value={text}
            onInput={(e) => setText((e.currentTarget as HTMLTextAreaElement).value)}
          />
        </label>
        <label>
          {w('titleField')}
          <input name="title" value={title} onInput={(e) => setTitle((e.currentTarget as HTMLInputElement).value)} />
        </label>
        <RegionPicker value={region} onChange={setRegion} scope={scope} invalid={regionMissing} />
        <div class="row locate">
          <button type="button" class="secondary" onClick={locate} disabled={where?.kind === 'busy'}>
            {where?.kind === 'busy' ? w('locating') : w('locate')}
          </button>
          <p class={where?.kind === 'err' ? 'err' : 'meta'} aria-live="polite">
            {where?.kind === 'ok' ? w('located', { name: placeName(where.code) }) : where?.kind === 'err' ? where.message : ''}
          </p>
        </div>
        <fieldset class="files-field">
          <legend>{w('files')}</legend>
          <p class="hint" id="files-hint">
            {w('filesHint')}
          </p>
          <div class="pick">
            <span class="file-pick">
              <input
                id="files"
                class="visually-hidden"
                type="file"
                multiple
                accept="image/*,application/pdf,.pdf,.doc,.docx,.odt,.txt"
                aria-describedby="files-hint"
                onChange={add}
              />
              <label for="files">{w('addFiles')}</label>
            </span>
            <span class="file-pick">
              <input id="camera" class="visually-hidden" type="file" accept="image/*" capture="environment" onChange={add} />
              <label for="camera">{w('takePhoto')}</label>
            </span>
          </div>
          {files.length > 0 && <Chosen files={files} onRemove={(i) => setFiles(files.filter((_, j) => j !== i))} />}
        </fieldset>
        {error && (
          <p class="err" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="send" disabled={busy}>
          {busy ? w('sending') : w('send')}
        </button>
      </form>
    </section>
  );
}

/** The files chosen so far, photos as small previews. */
function Chosen({ files, onRemove }: { files: File[]; onRemove: (i: number) => void }) {
  const [urls, setUrls] = useState<string[]>([]);
  useEffect(() => {
    const made = files.map((f) => (f.type.startsWith('image/') ? URL.createObjectURL(f) : ''));
    setUrls(made);
    return () => made.forEach((u) => u && URL.revokeObjectURL(u));
  }, [files]);
  return (
    <ul class="chosen">
      {files.map((f, i) => (
        <li key={`${i}${f.name}`}>
          {urls[i] && <img src={urls[i]} alt="" width={48} height={48} />}
          <span>
            {f.name} ({size(f.size)})
          </span>
          <button type="button" class="link" onClick={() => onRemove(i)}>
            {w('removeFile', { name: f.name })}
          </button>
        </li>
      ))}
    </ul>
  );
}

/** The receipt: the number, big, with a copy button. */
export function Receipt({ sent: s }: { sent: Sent }) {
  const [copied, setCopied] = useState<string | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(s.receipt);
      setCopied(w('copied'));
    } catch {
      setCopied(w('copyFailed'));
    }
  };
  return (
    <div class="receipt">
      <h1 id="result-title">{w('receiptTitle')}</h1>
      <p class="meta">{w('receiptNumber')}</p>
      <p class="receipt-number" id="receipt-number">
        {s.receipt}
      </p>
      <p>{w('receiptKeep')}</p>
      <p class="row">
        <button type="button" onClick={copy}>
          {w('copy')}
        </button>
        <a href={`#/reports/${s.id}`}>{w('openReport')}</a>
      </p>
      <p aria-live="polite" class="ok">
        {copied ?? ''}
      </p>
    </div>
  );
}
