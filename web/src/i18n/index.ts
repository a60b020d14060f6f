// Indonesian first, English as an option. Each page keeps its own words in a
// dictionary made with `words({id: {...}, en: {...}})`; the English half
// must have every key of the Indonesian half, which the type checks.
import { signal } from '@preact/signals';

export type Lang = 'id' | 'en';

const saved = typeof localStorage !== 'undefined' ? localStorage.getItem('lang') : null;
export const lang = signal<Lang>(saved === 'en' ? 'en' : 'id');

export function setLang(l: Lang) {
  lang.value = l;
  localStorage.setItem('lang', l);
  document.documentElement.lang = l;
}

type Params = Record<string, string | number>;

/** A page's words: `t('key', {n: 3})` fills `{n}` in the current language. */
export function words<K extends string>(dict: { id: Record<K, string>; en: Record<K, string> }) {
  return (key: K, params?: Params): string => {
    let s = dict[lang.value][key] ?? dict.id[key] ?? key;
    if (params) for (const [k, v] of Object.entries(params)) s = s.split(`{${k}}`).join(String(v));
    return s;
  };
}

/** The locale for numbers and dates. */
export const locale = () => (lang.value === 'en' ? 'en-GB' : 'id-ID');

export const t = words({
  id: {
    'app.name': 'Kentongan',
    'app.tagline': 'Sistem peringatan dini Kesbangpol',
    'nav.board': 'Papan pantau',
    'nav.newReport': 'Kirim laporan',
    'nav.myReports': 'Laporan saya',
    'nav.search': 'Cari',
    'nav.trends': 'Tren & peta',
    'nav.rules': 'Aturan',
    'nav.admin': 'Administrasi',
    'nav.duties': 'Laporan berkala',
    'nav.compliance': 'Kepatuhan',
    'nav.stages': 'Tahapan pemilu',
    'nav.briefs': 'Ringkasan pagi',
    'nav.account': 'Akun saya',
    'nav.signOut': 'Keluar',
    'nav.menu': 'Menu utama',
    'lang.switch': 'English',
    'lang.label': 'Bahasa',
    'signin.title': 'Masuk',
    'signin.name': 'Nama pengguna',
    'signin.password': 'Kata sandi',
    'signin.submit': 'Masuk',
    'signin.failed': 'Nama pengguna atau kata sandi salah.',
    'signin.help': 'Admin pertama: masuk dengan nama "admin" dan token bootstrap sebagai kata sandi, lalu buat kata sandi baru di "Akun saya".',
    'common.loading': 'Memuat…',
    'common.error': 'Terjadi kesalahan: {message}',
    'common.offline': 'Tidak ada koneksi. Data terakhir yang tersimpan ditampilkan.',
    'common.forbidden': 'Peran Anda tidak memiliki akses ke halaman ini.',
    'common.notFound': 'Halaman tidak ditemukan.',
    'common.save': 'Simpan',
    'common.cancel': 'Batal',
    'common.close': 'Tutup',
    'common.none': 'Tidak ada',
    'common.skip': 'Lewati ke isi',
    'error.unauthorized': 'Sesi Anda berakhir. Silakan masuk lagi.',
    'error.forbidden': 'Anda tidak berwenang untuk tindakan ini.',
    'error.not_found': 'Data tidak ditemukan.',
    'error.rate_limited': 'Terlalu banyak permintaan. Coba lagi sebentar lagi.',
    'error.unavailable': 'Layanan sedang tidak tersedia. Coba lagi nanti.',
    'error.network': 'Tidak dapat terhubung ke server.',
    'role.admin': 'Admin',
    'role.operator': 'Operator',
    'role.analyst': 'Analis',
    'role.reporter': 'Pelapor',
    'indicator.narkoba': 'Narkoba',
    'indicator.konflik_sosial': 'Konflik sosial',
    'indicator.kerukunan_beragama': 'Kerukunan umat beragama',
    'indicator.ideologi': 'Ideologi (radikalisme, terorisme, separatisme)',
    'indicator.demokrasi': 'Demokrasi dan pemilu',
    'level.awas': 'Awas',
    'level.siaga': 'Siaga',
    'level.waspada': 'Waspada',
    'state.open': 'Terbuka',
    'state.acknowledged': 'Diterima',
    'state.in_progress': 'Ditindaklanjuti',
    'state.resolved': 'Selesai',
  },
  en: {
    'app.name': 'Kentongan',
    'app.tagline': 'Early-warning system for Kesbangpol',
    'nav.board': 'Monitoring board',
    'nav.newReport': 'File a report',
    'nav.myReports': 'My reports',
    'nav.search': 'Search',
    'nav.trends': 'Trends & map',
    'nav.rules': 'Rules',
    'nav.admin': 'Administration',
    'nav.duties': 'Periodic reports',
    'nav.compliance': 'Compliance',
    'nav.stages': 'Election stages',
    'nav.briefs': 'Morning briefs',
    'nav.account': 'My account',
    'nav.signOut': 'Sign out',
    'nav.menu': 'Main menu',
    'lang.switch': 'Bahasa Indonesia',
    'lang.label': 'Language',
    'signin.title': 'Sign in',
    'signin.name': 'User name',
    'signin.password': 'Password',
    'signin.submit': 'Sign in',
    'signin.failed': 'Wrong user name or password.',
    'signin.help': 'First admin: sign in as "admin" with the bootstrap token as the password, then set a new password under "My account".',
    'common.loading': 'Loading…',
    'common.error': 'Something went wrong: {message}',
    'common.offline': 'No connection. Showing the last data saved.',
    'common.forbidden': 'Your role has no access to this page.',
    'common.notFound': 'Page not found.',
    'common.save': 'Save',
    'common.cancel': 'Cancel',
    'common.close': 'Close',
    'common.none': 'None',
    'common.skip': 'Skip to content',
    'error.unauthorized': 'Your session has ended. Please sign in again.',
    'error.forbidden': 'You are not allowed to do this.',
    'error.not_found': 'Not found.',
    'error.rate_limited': 'Too many requests. Try again shortly.',
    'error.unavailable': 'The service is unavailable right now. Try again later.',
    'error.network': 'Cannot reach the server.',
    'role.admin': 'Admin',
    'role.operator': 'Operator',
    'role.analyst': 'Analyst',
    'role.reporter': 'Reporter',
    'indicator.narkoba': 'Drugs',
    'indicator.konflik_sosial': 'Social conflict',
    'indicator.kerukunan_beragama': 'Religious harmony',
    'indicator.ideologi': 'Ideology (radicalism, terrorism, separatism)',
    'indicator.demokrasi': 'Democracy and elections',
    'level.awas': 'Alert (awas)',
    'level.siaga': 'Standby (siaga)',
    'level.waspada': 'Watch (waspada)',
    'state.open': 'Open',
    'state.acknowledged': 'Acknowledged',
    'state.in_progress': 'Being followed up',
    'state.resolved': 'Resolved',
  },
});

/** An indicator's name; a locally defined indicator keeps its id. */
export function indicatorName(id: string): string {
  const key = `indicator.${id}` as Parameters<typeof t>[0];
  const s = t(key);
  return s === key ? id : s;
}

export const levelName = (level: string) => t(`level.${level}` as Parameters<typeof t>[0]);
export const stateName = (state: string) => t(`state.${state}` as Parameters<typeof t>[0]);
export const roleName = (role: string) => t(`role.${role}` as Parameters<typeof t>[0]);
