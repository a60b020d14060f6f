// Administration (admin): accounts, responsible units and silences, each
// within the admin's regions; one section at a time, named in the route.
import { lang, words } from '../../i18n';
import { regionName } from '../../lib/regions';
import { me } from '../../api/client';
import Accounts from './accounts';
import Silences from './silences';
import Units from './units';

const t = words({
  id: {
    title: 'Administrasi',
    scope: 'Wilayah Anda: {regions}',
    national: 'nasional (semua wilayah)',
    sections: 'Bagian administrasi',
    accounts: 'Akun',
    units: 'Unit',
    silences: 'Penangguhan',
    unknown: 'Bagian ini tidak ada.',
  },
  en: {
    title: 'Administration',
    scope: 'Your regions: {regions}',
    national: 'national (every region)',
    sections: 'Administration sections',
    accounts: 'Accounts',
    units: 'Units',
    silences: 'Silences',
    unknown: 'There is no such section.',
  },
});

const SECTIONS = { accounts: Accounts, units: Units, silences: Silences } as const;
type Section = keyof typeof SECTIONS;

export default function Admin({ section = 'accounts' }: Record<string, string>) {
  lang.value;
  const Page = SECTIONS[section as Section];
  const regions = me.value?.regions ?? [];
  return (
    <section class="admin">
      <h1>{t('title')}</h1>
      <p class="meta">{t('scope', { regions: regions.length ? regions.map((r) => regionName(String(r))).join(', ') : t('national') })}</p>
      <nav aria-label={t('sections')} class="tabs">
        <ul>
          {(Object.keys(SECTIONS) as Section[]).map((s) => (
            <li key={s}>
              <a href={`#/admin/${s}`} aria-current={s === section ? 'page' : undefined}>
                {t(s)}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      {Page ? <Page key={section} /> : <p role="alert">{t('unknown')}</p>}
    </section>
  );
}
