// The report pages: the form (`/reports/new`), "my reports"
// (`/reports/mine`) and one report (`/reports/:id`).
import { lang } from '../../i18n';
import { path } from '../../lib/router';
import { ReportForm } from './form';
import { MyReports } from './mine';
import { ReportView } from './view';

export default function Reports({ id }: Record<string, string | undefined>) {
  lang.value; // re-render on a language change
  const p = path.value;
  if (p === '/reports/new') return <ReportForm />;
  if (p === '/reports/mine') return <MyReports />;
  return <ReportView key={id} id={id ?? ''} />;
}
