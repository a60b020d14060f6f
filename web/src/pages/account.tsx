// My account: who I am, my regions, and my password.
import { useState } from 'preact/hooks';
import { api, errorText, loadMe, me } from '../api/client';
import { roleName, words } from '../i18n';
import { regionLabel } from '../lib/regions';

const t = words({
  id: {
    title: 'Akun saya',
    regions: 'Wilayah',
    national: 'Nasional (semua wilayah)',
    role: 'Peran',
    password: 'Kata sandi',
    noPassword: 'Akun ini belum memiliki kata sandi. Buat kata sandi agar dapat masuk lain kali.',
    new: 'Kata sandi baru (minimal 12 karakter)',
    change: 'Simpan kata sandi',
    changed: 'Kata sandi disimpan.',
  },
  en: {
    title: 'My account',
    regions: 'Regions',
    national: 'National (every region)',
    role: 'Role',
    password: 'Password',
    noPassword: 'This account has no password yet. Set one to sign in next time.',
    new: 'New password (at least 12 characters)',
    change: 'Save password',
    changed: 'Password saved.',
  },
});

export default function Account() {
  const account = me.value!;
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    const { error, response } = await api.PUT('/api/v1/me/password', { body: { password: String(data.get('new')) } });
    if (response.ok) {
      form.reset();
      setMsg({ ok: true, text: t('changed') });
      loadMe();
    } else setMsg({ ok: false, text: errorText(error, response.status) });
  };
  return (
    <section>
      <h1>{t('title')}</h1>
      <dl class="facts">
        <dt>{t('role')}</dt>
        <dd>
          {account.display_name} ({account.name}) · {roleName(account.role)}
        </dd>
        <dt>{t('regions')}</dt>
        <dd>{account.regions.length ? account.regions.map(regionLabel).join(', ') : t('national')}</dd>
      </dl>
      <h2>{t('password')}</h2>
      {!account.has_password && <p class="note">{t('noPassword')}</p>}
      <form class="stack" onSubmit={submit}>
        <label>
          {t('new')}
          <input name="new" type="password" autocomplete="new-password" minLength={12} required />
        </label>
        {msg && (
          <p class={msg.ok ? 'ok' : 'err'} role="status">
            {msg.text}
          </p>
        )}
        <button type="submit">{t('change')}</button>
      </form>
    </section>
  );
}
