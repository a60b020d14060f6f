// "Balas ke pelapor" on a report's page (admins and operators): a note sent
// back to the reporter over the channel the report came by (Telegram,
// WhatsApp, SMS, email), and the replies so far with each delivery's state.
import { useEffect, useState } from 'preact/hooks';
import { errorText, me, sessionHeaders, type Schemas } from '../../api/client';
import { lang, words } from '../../i18n';
import { channelName } from '../reports/words';
import { formatTime } from '../../lib/regions';

const w = words({
  id: {
    title: 'Balas ke pelapor',
    hint: 'Pesan dikirim ke pelapor lewat saluran laporan ini ({channel}) dan dicatat di riwayatnya. Paling banyak 1.000 karakter.',
    unreachable: 'Laporan ini masuk lewat {channel}: tidak ada pelapor yang dapat dibalas lewat saluran itu.',
    text: 'Pesan untuk pelapor',
    send: 'Kirim balasan',
    sending: 'Mengirim…',
    sent: 'Balasan dicatat dan segera dikirim.',
    empty: 'Tulis pesan terlebih dahulu.',
    history: 'Balasan terkirim',
    none: 'Belum ada balasan.',
    by: '{who}, {time}',
    'state.pending': 'menunggu dikirim',
    'state.sent': 'terkirim',
    'state.retrying': 'dicoba lagi',
    'state.failed': 'gagal',
    attempts: '{n} percobaan',
  },
  en: {
    title: 'Reply to the reporter',
    hint: 'The note goes to the reporter over this report\'s channel ({channel}) and is kept in its history. At most 1,000 characters.',
    unreachable: 'This report came through {channel}: there is no reporter to reply to over it.',
    text: 'Note for the reporter',
    send: 'Send the reply',
    sending: 'Sending…',
    sent: 'The reply is recorded and sent shortly.',
    empty: 'Write a note first.',
    history: 'Replies sent',
    none: 'No replies yet.',
    by: '{who}, {time}',
    'state.pending': 'waiting to be sent',
    'state.sent': 'sent',
    'state.retrying': 'being retried',
    'state.failed': 'failed',
    attempts: '{n} attempts',
  },
});

type Reply = Schemas['ReplyRecord'];

const REACHABLE = ['telegram', 'whatsapp', 'sms', 'email'];

export function ReplyBox({ report, channel, region }: { report: string; channel: string; region?: string | null }) {
  const role = me.value?.role;
  const [replies, setReplies] = useState<Reply[] | null>(null);
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [said, setSaid] = useState<{ ok: boolean; text: string } | null>(null);
  const [tick, setTick] = useState(0);
  const reachable = REACHABLE.includes(channel);
  const staff = role === 'admin' || role === 'operator';

  useEffect(() => {
    if (!staff || !reachable) return;
    fetch(`/api/v1/reports/${report}/replies`, { credentials: 'same-origin' })
      .then((r) => (r.ok ? r.json() : null))
      .then((b: { replies?: Reply[] } | null) => setReplies(b?.replies ?? []), () => setReplies([]));
  }, [report, tick]);
  // a reply on its way: look again until each is sent or failed
  useEffect(() => {
    if (!replies?.some((r) => r.state === 'pending' || r.state === 'retrying')) return;
    const t = setTimeout(() => setTick((n) => n + 1), 3000);
    return () => clearTimeout(t);
  }, [replies]);

  if (!staff) return null;
  if (!reachable)
    return (
      <section aria-labelledby="reply-title">
        <h2 id="reply-title">{w('title')}</h2>
        <p class="meta">{w('unreachable', { channel: channelName(channel, lang.value) })}</p>
      </section>
    );

  const send = async (e: Event) => {
    e.preventDefault();
    if (!text.trim()) return setSaid({ ok: false, text: w('empty') });
    setBusy(true);
    setSaid(null);
    try {
      const r = await fetch(`/api/v1/reports/${report}/replies`, {
        method: 'POST',
        credentials: 'same-origin',
        headers: sessionHeaders({ 'Content-Type': 'application/json' }),
        body: JSON.stringify({ text: text.trim() }),
      });
      const body = await r.json().catch(() => null);
      if (!r.ok) return setSaid({ ok: false, text: errorText(body, r.status) });
      setText('');
      setSaid({ ok: true, text: w('sent') });
      setTick((n) => n + 1);
    } catch {
      setSaid({ ok: false, text: errorText(null) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="reply-title" class="reply-box">
      <h2 id="reply-title">{w('title')}</h2>
      <form onSubmit={send} class="stack">
        <label for="reply-text">{w('text')}</label>
        <p class="hint" id="reply-hint">
          {w('hint', { channel: channelName(channel, lang.value) })}
        </p>
        <textarea id="reply-text" aria-describedby="reply-hint" rows={3} maxLength={1000} value={text} onInput={(e) => setText((e.currentTarget as HTMLTextAreaElement).value)} />
        <p aria-live="polite" class={said?.ok ? 'ok' : 'err'} id="reply-said">
          {said?.text ?? ''}
        </p>
        <button type="submit" disabled={busy}>
          {busy ? w('sending') : w('send')}
        </button>
      </form>
      <h3>{w('history')}</h3>
      {replies?.length === 0 && <p>{w('none')}</p>}
      {replies && replies.length > 0 && (
        <ol class="replies" id="replies">
          {replies.map((r) => (
            <li key={r.id} data-state={r.state}>
              <p class="report-text">{r.text}</p>
              <p class="meta">
                {w('by', { who: r.by, time: formatTime(r.at, region) })} · {channelName(r.channel, lang.value)} · <strong>{w(`state.${r.state}` as 'state.sent')}</strong>
                {r.deliveries.length > 1 ? ` · ${w('attempts', { n: r.deliveries.length })}` : ''}
                {r.deliveries.at(-1)?.error ? ` · ${r.deliveries.at(-1)!.error}` : ''}
              </p>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
