// The election-stage board (`/stages?region=&template=`): "who has not yet"
// per stage item at a glance, the share done per province, and every region
// × stage item with its status, when and by whom it changed, and its
// documents; a region's history of changes opens below the board.
import { useEffect, useRef, useState } from 'preact/hooks';
import { me, type Schemas } from '../../api/client';
import { locale } from '../../i18n';
import { formatTime, regionName } from '../../lib/regions';
import { query, setQuery } from '../../lib/router';
import { size } from '../reports/attachments';
import { RegionPicker } from '../search/fields';
import { TemplatePick } from './pick';
import { cached, getJson, loadTemplates, percent, type Template } from './shared';
import { w } from './words';

type Board = Schemas['StageBoard'];
type History = Schemas['StageHistory'];

const docUrl = (report: string, n: number) => `/api/v1/reports/${report}/attachments/${n}`;
const day = (d: string) => new Date(d + 'T00:00:00Z').toLocaleDateString(locale(), { timeZone: 'UTC', day: 'numeric', month: 'short', year: 'numeric' });

export function StageBoard() {
  const q = query.value;
  const scope = me.value?.regions ?? [];
  const region = q.get('region') ?? '';
  const [templates, setTemplates] = useState<Template[]>(() => cached().filter((t) => t.schedule.every === 'stage'));
  const template = q.get('template') ?? 'tahapan-pemilu';
  const [form, setForm] = useState({ region, template });
  const [board, setBoard] = useState<Board | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);

  useEffect(() => {
    loadTemplates().then((got) => setTemplates(got.templates.filter((t) => t.schedule.every === 'stage')));
  }, []);
  useEffect(() => {
    setForm({ region, template });
    setBoard(null);
    setError(null);
    let stale = false;
    const params = new URLSearchParams({ template, ...(region ? { region } : {}) });
    getJson<Board>(`/api/v1/stages?${params}`).then((r) => {
      if (stale) return;
      if (r.data) setBoard(r.data);
      else setError(r.error ?? '');
    });
    return () => {
      stale = true;
    };
  }, [region, template]);

  const submit = (e: Event) => {
    e.preventDefault();
    setOpen(null);
    setQuery({ region: form.region || undefined, template: form.template === 'tahapan-pemilu' ? undefined : form.template });
  };
  const areas = board?.totals.filter((t) => t.region != null) ?? [];

  return (
    <section class="stages" aria-labelledby="stages-title">
      <h1 id="stages-title">{w('stagesTitle')}</h1>
      <p class="sub">{w('stagesIntro')}</p>
      <form class="row" onSubmit={submit}>
        {templates.length > 1 && (
          <TemplatePick id="s-template" templates={templates} value={form.template} onChange={(id) => setForm({ ...form, template: id })} />
        )}
        <RegionPicker id="s-region" label={w('within')} hint={w('withinHint')} scope={scope} value={form.region} onChange={(r) => setForm({ ...form, region: r })} />
        <button type="submit">{w('show')}</button>
      </form>
      <p>
        <a href={`#/duties/${template}`}>{w('fileStage')}</a>
      </p>
      {error && (
        <p class="err" role="alert">
          {error}
        </p>
      )}
      {!board && !error && <p aria-busy="true">{w('loading')}</p>}
      {board && (
        <>
          <h2>{w('notYet')}</h2>
          <ul class="stage-items">
            {board.items.map((it) => (
              <li key={it.id} class="card" data-stage={it.id}>
                <h3>
                  {it.name} <span class="meta">· {w('due', { day: day(it.due) })}</span>
                </h3>
                {it.not_done.length === 0 ? (
                  <p class="ok">{w('allDone')}</p>
                ) : (
                  <details open={it.not_done.length <= 20}>
                    <summary>{w('notYetCount', { n: it.not_done.length, of: board.rows.length })}</summary>
                    <ul class="who-not" aria-label={w('notYetOf', { name: it.name })}>
                      {it.not_done.map((c) => (
                        <li key={c}>{regionName(c)}</li>
                      ))}
                    </ul>
                  </details>
                )}
              </li>
            ))}
          </ul>
          {areas.length > 0 && (
            <>
              <h2>{w('doneShare')}</h2>
              <div class="table-wrap" tabIndex={0} role="region" aria-label={w('doneShare')}>
                <table id="s-totals">
                  <ItemHead items={board.items} />
                  <tbody>
                    {[...new Set(areas.map((t) => `${t.region}/${t.filers}`))].map((k) => {
                      const [code, filers] = k.split('/');
                      const of = areas.filter((t) => t.region === code && t.filers === filers);
                      return (
                        <tr key={k}>
                          <th scope="row">
                            {of[0].name} <span class="meta">· {w(`lvl.${filers}` as 'lvl.province')}</span>
                          </th>
                          {board.items.map((it) => {
                            const t = of.find((x) => x.stage === it.id);
                            return <td key={it.id}>{t ? `${t.done}/${t.expected} (${percent(t.done_rate)})` : '–'}</td>;
                          })}
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
              </div>
            </>
          )}
          <h2>{w('perRegion')}</h2>
          <div class="table-wrap" tabIndex={0} role="region" aria-label={w('perRegion')}>
            <table id="s-board" class="board-grid">
              <ItemHead items={board.items} />
              <tbody>
                {board.rows.map((r) => (
                  <tr key={r.region} data-region={r.region}>
                    <th scope="row">
                      <button type="button" class="link" aria-expanded={open === r.region} onClick={() => setOpen(open === r.region ? null : r.region)}>
                        {r.name}
                      </button>
                    </th>
                    {r.cells.map((c) => (
                      <td key={c.stage} data-stage={c.stage} data-done={String(c.done)}>
                        <span class={`badge ${c.done ? 'st-filed' : c.filings ? 'st-late' : 'st-not_filed'}`}>
                          {c.status ?? (c.filings ? w('filedWord') : w('st.not_filed'))}
                        </span>
                        {c.changed_at && (
                          <span class="meta">
                            {' '}
                            · {formatTime(c.changed_at, r.region)}
                            {c.account ? ` · ${c.account}` : ''}
                          </span>
                        )}
                        {c.documents.length > 0 && (
                          <ul class="docs">
                            {c.documents.map((d) => (
                              <li key={`${d.report}/${d.n}`}>
                                <a href={docUrl(d.report, d.n)} download={d.name}>
                                  {d.name}
                                </a>{' '}
                                <span class="meta">({size(d.size)})</span>
                              </li>
                            ))}
                          </ul>
                        )}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {open && <StageHistory key={open} region={open} template={template} />}
        </>
      )}
    </section>
  );
}

/** A table's head: the region, then each stage item. */
function ItemHead({ items }: { items: Board['items'] }) {
  return (
    <thead>
      <tr>
        <th scope="col">{w('region')}</th>
        {items.map((it) => (
          <th key={it.id} scope="col">
            {it.name}
          </th>
        ))}
      </tr>
    </thead>
  );
}

function StageHistory({ region, template }: { region: string; template: string }) {
  const [h, setH] = useState<History | null>(null);
  const [error, setError] = useState<string | null>(null);
  const box = useRef<HTMLElement>(null);
  useEffect(() => {
    getJson<History>(`/api/v1/stages/${encodeURIComponent(region)}/history?template=${encodeURIComponent(template)}`).then((r) => {
      if (r.data) setH(r.data);
      else setError(r.error ?? '');
      requestAnimationFrame(() => box.current?.focus());
    });
  }, [region, template]);
  return (
    <section class="card history" id="s-history" ref={box} tabIndex={-1} aria-labelledby="s-history-title">
      <h2 id="s-history-title">{w('historyOf', { name: regionName(region) })}</h2>
      {error && <p class="err">{error}</p>}
      {h && h.changes.length === 0 && <p>{w('noChanges')}</p>}
      {h && (
        <ol class="changes">
          {[...h.changes].reverse().map((c) => (
            <li key={c.report}>
              <strong>{c.stage_name}</strong>: {c.previous ? `${c.previous} → ` : ''}
              <span class={`badge ${c.done ? 'st-filed' : 'st-late'}`}>{c.status ?? w('filedWord')}</span>
              <span class="meta">
                {' '}
                · {formatTime(c.reported_at, region)}
                {c.account ? ` · ${w('by', { who: c.account })}` : ''} · <a href={`#/reports/${c.report}`}>{w('open')}</a>
              </span>
              {c.documents.length > 0 && (
                <ul class="docs">
                  {c.documents.map((d) => (
                    <li key={d.n}>
                      <a href={docUrl(c.report, d.n)} download={d.name}>
                        {d.name}
                      </a>{' '}
                      <span class="meta">({size(d.size)})</span>
                    </li>
                  ))}
                </ul>
              )}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
