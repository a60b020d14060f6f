// The shell: sign-in, the menu for the person's role, the language switch,
// and the page of the current route.
import type { ComponentType } from 'preact';
import { me, signOut } from './api/client';
import { lang, roleName, setLang, t } from './i18n';
import { lazy } from './lib/lazy';
import { match, navigate, path } from './lib/router';
import { SignIn } from './pages/signin';

type Role = 'admin' | 'operator' | 'analyst' | 'reporter';
const ALL: Role[] = ['admin', 'operator', 'analyst', 'reporter'];

type Route = { pattern: string; roles: Role[]; page: ComponentType<Record<string, string>> };

const Board = lazy(() => import('./pages/board'));
const Reports = lazy(() => import('./pages/reports'));
const Search = lazy(() => import('./pages/search'));
const Trends = lazy(() => import('./pages/trends'));
const Rules = lazy(() => import('./pages/rules'));
const Admin = lazy(() => import('./pages/admin'));
const Account = lazy(() => import('./pages/account'));
const Duties = lazy(() => import('./pages/duties'));

const OPS: Role[] = ['admin', 'operator'];
const ANALYSTS: Role[] = ['admin', 'analyst'];

/** Every page, and who may open it. A page gets the route's named parts as props. */
const ROUTES: Route[] = [
  { pattern: '/board', roles: OPS, page: Board },
  { pattern: '/alerts/:id', roles: OPS, page: Board },
  { pattern: '/reports/new', roles: ALL, page: Reports },
  { pattern: '/reports/mine', roles: ALL, page: Reports },
  { pattern: '/reports/:id', roles: ALL, page: Reports },
  { pattern: '/search', roles: ANALYSTS, page: Search },
  { pattern: '/trends', roles: ['admin', 'analyst', 'operator'], page: Trends },
  { pattern: '/rules', roles: ['admin'], page: Rules },
  { pattern: '/rules/:id', roles: ['admin'], page: Rules },
  { pattern: '/admin', roles: ['admin'], page: Admin },
  { pattern: '/admin/:section', roles: ['admin'], page: Admin },
  { pattern: '/account', roles: ALL, page: Account },
  { pattern: '/duties', roles: ALL, page: Duties },
  { pattern: '/duties/new', roles: ['admin'], page: Duties },
  { pattern: '/duties/:id', roles: ALL, page: Duties },
  { pattern: '/duties/:id/edit', roles: ['admin'], page: Duties },
  { pattern: '/compliance', roles: ['admin', 'analyst', 'operator'], page: Duties },
  { pattern: '/stages', roles: ['admin', 'analyst', 'operator'], page: Duties },
  { pattern: '/briefs', roles: ['admin', 'analyst', 'operator'], page: Duties },
];

const MENU: { to: string; key: Parameters<typeof t>[0]; roles: Role[] }[] = [
  { to: '/board', key: 'nav.board', roles: OPS },
  { to: '/reports/new', key: 'nav.newReport', roles: ALL },
  { to: '/reports/mine', key: 'nav.myReports', roles: ALL },
  { to: '/search', key: 'nav.search', roles: ANALYSTS },
  { to: '/trends', key: 'nav.trends', roles: ['admin', 'analyst', 'operator'] },
  { to: '/rules', key: 'nav.rules', roles: ['admin'] },
  { to: '/duties', key: 'nav.duties', roles: ALL },
  { to: '/compliance', key: 'nav.compliance', roles: ['admin', 'analyst', 'operator'] },
  { to: '/stages', key: 'nav.stages', roles: ['admin', 'analyst', 'operator'] },
  { to: '/briefs', key: 'nav.briefs', roles: ['admin', 'analyst', 'operator'] },
  { to: '/admin', key: 'nav.admin', roles: ['admin'] },
  { to: '/account', key: 'nav.account', roles: ALL },
];

/** Whether the menu item `to` is the page at `p`: its own path, a page below
 * a one-part item (`/admin/units`), and an alert for the board. */
const current = (to: string, p: string) =>
  p === to || (to.split('/').length === 2 && p.startsWith(to + '/')) || (to === '/board' && p.startsWith('/alerts/'));

/** Where a role starts. */
const home = (role: Role) => (role === 'reporter' ? '/reports/new' : role === 'analyst' ? '/search' : '/board');

export function App() {
  lang.value; // re-render on a language change
  const account = me.value;
  if (account === undefined) return <p aria-busy="true">{t('common.loading')}</p>;
  if (account === null) return <SignIn />;
  const role = account.role as Role;
  const p = path.value;
  if (p === '/' || p === '') {
    navigate(home(role));
    return null;
  }
  let page = <p role="alert">{t('common.notFound')}</p>;
  for (const r of ROUTES) {
    const params = match(r.pattern, p);
    if (!params) continue;
    const Page = r.page;
    page = r.roles.includes(role) ? <Page {...params} /> : <p role="alert">{t('common.forbidden')}</p>;
    break;
  }
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>
        {t('common.skip')}
      </a>
      <header class="top">
        <a class="brand" href={'#' + home(role)}>
          {t('app.name')}
        </a>
        <nav aria-label={t('nav.menu')}>
          <ul>
            {MENU.filter((m) => m.roles.includes(role)).map((m) => (
              <li key={m.to}>
                <a href={'#' + m.to} aria-current={current(m.to, p) ? 'page' : undefined}>
                  {t(m.key)}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span>
            {account.display_name} · {roleName(role)}
          </span>
          <button type="button" class="link" onClick={() => setLang(lang.value === 'id' ? 'en' : 'id')} lang={lang.value === 'id' ? 'en' : 'id'}>
            {t('lang.switch')}
          </button>
          <button type="button" class="link" onClick={() => signOut()}>
            {t('nav.signOut')}
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </>
  );
}
