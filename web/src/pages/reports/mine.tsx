// "My reports": those waiting in this browser's outbox, those sent and not
// classified yet, and those the server lists, each with what became of it.
import { useEffect, useState } from 'preact/hooks';
import { me } from '../../api/client';
import { indicatorName } from '../../i18n';
import { formatTime, regionName } from '../../lib/regions';
import { t } from '../../i18n';
import { discard, flush, mineKey, sent, waiting } from '../../offline/outbox';
import { listReports, type Listed } from './listed';
import { w } from './words';

const PAGE = 50;

export function MyReports() {
  const account = me.value!;
  // the list last loaded, shown until a new one comes (and with no connection)
  const [list, setList] = useState<Listed[] | null>(() => {
    const kept = localStorage.getItem(mineKey(account.name));
    return kept ? (JSON.parse(kept) as Listed[]) : null;
  });
  const [total, setTotal] = useState(0);
  const [limit, setLimit] = useState(PAGE);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    let gone = false;
    listReports({ limit })
      .then((data) => {
        if (gone) return;
        setError(null);
        // a reporter gets their own; others get their regions', of which theirs are those they sent
        const own = account.role === 'reporter' ? data.reports : data.reports.filter((r) => r.reporter?.account === account.name);
        setList(own);
        localStorage.setItem(mineKey(account.name), JSON.stringify(own.slice(0, PAGE)));
        setTotal(account.role === 'reporter' ? data.total : own.length);
      })
      .catch((e) => gone || setError(navigator.onLine ? String(e) : t('common.offline')));
    return () => {
      gone = true;
    };
  }, [limit, tick, sent.value.length]);

  const listed = new Set((list ?? []).map((r) => r.id));
  const unlisted = sent.value.filter((s) => !listed.has(s.id));
  // sent reports are classified within seconds: look again until they are listed
  useEffect(() => {
    if (!unlisted.length) return;
    const t = setTimeout(() => setTick((n) => n + 1), 3000);
    return () => clearTimeout(t);
  }, [tick, unlisted.length]);

  return (
    <section aria-labelledby="mine-title">
      <h1 id="mine-title">{w('mineTitle')}</h1>
      <p class="sub">{w('mineIntro')}</p>
      {waiting.value.length > 0 && (
        <>
          <h2>{w('outbox')}</h2>
          <ul class="reports">
            {waiting.value.map((q) => (
              <li key={q.key} class="card queued" data-key={q.key}>
                <p>
                  <span class={`badge st-${q.error ? 'refused' : 'waiting'}`}>
                    {q.error ? w('refused', { message: q.error }) : w('st_waiting')}
                  </span>
                </p>
                <p class="report-text">{q.submission.text}</p>
                <p class="meta">
                  {w('filed', { time: formatTime(q.created, q.submission.region) })}
                  {q.submission.region ? ` · ${regionName(q.submission.region)}` : ''}
                  {q.files.length ? ` · ${q.files.map((f) => f.name).join(', ')}` : ''}
                </p>
                {q.error ? (
                  <button type="button" class="secondary" onClick={() => discard(q.key)}>
                    {w('discard')}
                  </button>
                ) : (
                  <button type="button" class="secondary" onClick={() => flush()}>
                    {w('sendNow')}
                  </button>
                )}
              </li>
            ))}
          </ul>
        </>
      )}
      {error && (
        <p class={navigator.onLine ? 'err' : 'note'} role="alert">
          {error}
        </p>
      )}
      {list === null && !error && <p aria-busy="true">{w('sending')}</p>}
      {list !== null && list.length === 0 && unlisted.length === 0 && waiting.value.length === 0 && (
        <p>{w('mineEmpty')}</p>
      )}
      <ul class="reports">
        {unlisted.map((s) => (
          <li key={s.key} class="card sent" data-receipt={s.receipt}>
            <p>
              <span class="badge st-sent">{w('st_sent')}</span> <strong>{w('receipt', { receipt: s.receipt })}</strong>
            </p>
            <p class="report-text">{s.text}</p>
            <p class="meta">
              {w('filed', { time: formatTime(s.at, s.region) })}
              {s.region ? ` · ${regionName(s.region)}` : ''}
            </p>
          </li>
        ))}
        {(list ?? []).map((r) => (
          <li key={r.id} class="card listed" data-receipt={r.receipt}>
            <p>
              <span class={`badge st-${r.status ?? 'received'}`}>{w(`st_${r.status ?? 'received'}`)}</span>{' '}
              <a href={`#/reports/${r.id}`}>
                <strong>{w('receipt', { receipt: r.receipt })}</strong>
              </a>
            </p>
            {r.title && <p class="report-title">{r.title}</p>}
            <p class="report-text">
              {r.text.length > 280 ? r.text.slice(0, 280) + '…' : r.text}
            </p>
            <p class="meta">
              {w('filed', { time: formatTime(r.received_at, r.region) })}
              {r.region ? ` · ${regionName(r.region)}` : ''} ·{' '}
              {r.indicators.length
                ? w('indicators', { list: r.indicators.map((i) => indicatorName(i.id)).join(', ') })
                : w('noIndicator')}
              {r.attachments.length ? ` · ${r.attachments.length} ${w('attachments').toLowerCase()}` : ''}
            </p>
          </li>
        ))}
      </ul>
      {list !== null && total > list.length && limit < 200 && account.role === 'reporter' && (
        <button type="button" class="secondary" onClick={() => setLimit(Math.min(200, limit + PAGE))}>
          {w('more')}
        </button>
      )}
    </section>
  );
}
