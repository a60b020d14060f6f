// The duties pages (issue 16): the templates (`/duties`), a template's
// filing form (`/duties/:id`), the template editor (`/duties/new`,
// `/duties/:id/edit`), compliance (`/compliance`), the election-stage board
// (`/stages`) and the morning briefs (`/briefs`).
import { useEffect, useState } from 'preact/hooks';
import { me } from '../../api/client';
import { lang } from '../../i18n';
import { path } from '../../lib/router';
import { Briefs } from './briefs';
import { CompliancePage } from './compliance';
import { TemplateEditor } from './editor';
import { FilingForm } from './form';
import { StageBoard } from './stages';
import { deadlineText, currentPeriod, periodName } from './period';
import { cached, fileableRegions, loadTemplates, type Template } from './shared';
import { w } from './words';
import './duties.css';

export default function Duties({ id }: Record<string, string | undefined>) {
  lang.value; // re-render on a language change
  const p = path.value;
  if (p === '/compliance') return <CompliancePage />;
  if (p === '/stages') return <StageBoard />;
  if (p === '/briefs') return <Briefs />;
  if (p === '/duties/new') return <TemplateEditor />;
  if (id && p.endsWith('/edit')) return <TemplateEditor key={id} id={id} />;
  if (id) return <FilingForm key={id} id={id} />;
  return <TemplateList />;
}

function TemplateList() {
  const account = me.value!;
  const scope = account.regions ?? [];
  const [templates, setTemplates] = useState<Template[]>(cached);
  const [note, setNote] = useState<string | null>(null);
  useEffect(() => {
    loadTemplates().then((got) => {
      setTemplates(got.templates);
      setNote(got.offline ? w('offlineList') : (got.error ?? null));
    });
  }, []);
  const admin = account.role === 'admin';
  return (
    <section aria-labelledby="duties-title">
      <h1 id="duties-title">{w('dutiesTitle')}</h1>
      <p class="sub">{w('dutiesIntro')}</p>
      {note && <p class="note">{note}</p>}
      <ul class="templates">
        {templates.map((t) => {
          const mine = fileableRegions(t.filers, scope);
          const home = mine[0] ?? scope[0] ?? '31';
          const period = currentPeriod(t.schedule, home);
          return (
            <li key={t.id} class="card" data-template={t.id}>
              <h2>{t.name}</h2>
              {t.description && <p>{t.description}</p>}
              <p class="meta">
                {w('now', { period: periodName(t.schedule, period, w('week')) })}
                {mine.length > 0 && ` · ${w('deadline', { time: deadlineText(t.schedule, period, home) })}`}
                {' · '}
                {w('versionN', { n: t.version })}
              </p>
              <p class="buttons">
                {mine.length > 0 && (
                  <a class="button" href={`#/duties/${t.id}`}>
                    {w('fileIt', { name: t.name })}
                  </a>
                )}
                {account.role !== 'reporter' && <a href={`#/compliance?template=${t.id}`}>{w('complianceOf', { name: t.name })}</a>}
                {admin && <a href={`#/duties/${t.id}/edit`}>{w('editIt', { name: t.name })}</a>}
              </p>
            </li>
          );
        })}
      </ul>
      {admin && (
        <p>
          <a href="#/duties/new">{w('newTemplate')}</a>
        </p>
      )}
    </section>
  );
}
