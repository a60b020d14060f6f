import { useState } from 'preact/hooks';
import { signIn } from '../api/client';
import { lang, setLang, t } from '../i18n';

export function SignIn() {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    setBusy(true);
    try {
      setError(await signIn(String(form.get('name')), String(form.get('password'))));
    } catch {
      setError(t('error.network'));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" class="signin">
      <h1>{t('app.name')}</h1>
      <p class="sub">{t('app.tagline')}</p>
      <form id="login" onSubmit={submit}>
        <h2>{t('signin.title')}</h2>
        <label>
          {t('signin.name')}
          <input id="name" name="name" autocomplete="username" required autoCapitalize="none" />
        </label>
        <label>
          {t('signin.password')}
          <input id="password" name="password" type="password" autocomplete="current-password" required />
        </label>
        {error && (
          <p class="err" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {t('signin.submit')}
        </button>
        <p class="hint">{t('signin.help')}</p>
      </form>
      <button type="button" class="link" onClick={() => setLang(lang.value === 'id' ? 'en' : 'id')}>
        {t('lang.switch')}
      </button>
    </main>
  );
}
