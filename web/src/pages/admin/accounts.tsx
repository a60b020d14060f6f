// Accounts within the admin's regions: the list; a new account with its
// role and regions (its first API token shown once); and, for each
// account, its role, regions and contacts, a password set or reset,
// deactivation and reactivation, and API tokens (a new one shown once).
import { useEffect, useState } from 'preact/hooks';
import { api, errorText, me, type Schemas } from '../../api/client';
import { lang, roleName, words } from '../../i18n';
import { formatTime, regionName } from '../../lib/regions';
import { RegionsField } from '../search/fields';
import { FieldError, FormError, Head, type Problem, Said, invalid, problemOf } from './form';

const t = words({
  id: {
    title: 'Akun',
    name: 'Nama pengguna',
    display: 'Nama lengkap',
    role: 'Peran',
    regions: 'Wilayah',
    national: 'Nasional',
    status: 'Status',
    active: 'Aktif',
    inactive: 'Nonaktif',
    password: 'Kata sandi',
    hasPassword: 'ada',
    noPassword: 'belum ada',
    tokens: 'Token API',
    edit: 'Kelola {name}',
    manage: 'Kelola',
    close: 'Tutup',
    create: 'Buat akun',
    createTitle: 'Akun baru',
    email: 'Email (boleh kosong)',
    phone: 'Nomor ponsel (boleh kosong)',
    telegram: 'ID Telegram (boleh kosong)',
    newPassword: 'Kata sandi (minimal 12 karakter, boleh kosong)',
    regionsHint: 'Kosongkan untuk akun nasional (hanya admin nasional).',
    regionsEmpty: 'Belum ada wilayah: akun nasional.',
    created: 'Akun {name} dibuat.',
    tokenOnce: 'Token API akun ini (hanya ditampilkan sekali, simpan sekarang):',
    save: 'Simpan perubahan',
    saved: 'Perubahan disimpan.',
    setPassword: 'Atur kata sandi baru',
    setPasswordHint: 'Untuk akun lain, ini mengatur ulang kata sandinya dan mengakhiri sesi web-nya.',
    passwordSet: 'Kata sandi {name} disimpan.',
    deactivate: 'Nonaktifkan akun',
    reactivate: 'Aktifkan kembali',
    deactivated: 'Akun {name} dinonaktifkan: token dan sesinya tidak berlaku lagi.',
    reactivated: 'Akun {name} aktif kembali.',
    self: 'Ini akun Anda sendiri.',
    newToken: 'Buat token API',
    tokenLabel: 'Label token (misalnya ponsel kantor)',
    tokenMade: 'Token baru untuk {name} (hanya ditampilkan sekali, simpan sekarang):',
    revoke: 'Cabut token {label}',
    revoked: 'dicabut',
    noTokens: 'Tidak ada token.',
    madeAt: 'dibuat {when}',
  },
  en: {
    title: 'Accounts',
    name: 'User name',
    display: 'Full name',
    role: 'Role',
    regions: 'Regions',
    national: 'National',
    status: 'Status',
    active: 'Active',
    inactive: 'Inactive',
    password: 'Password',
    hasPassword: 'set',
    noPassword: 'not set',
    tokens: 'API tokens',
    edit: 'Manage {name}',
    manage: 'Manage',
    close: 'Close',
    create: 'Create the account',
    createTitle: 'New account',
    email: 'Email (optional)',
    phone: 'Mobile number (optional)',
    telegram: 'Telegram id (optional)',
    newPassword: 'Password (at least 12 characters, optional)',
    regionsHint: 'Leave empty for a national account (national admins only).',
    regionsEmpty: 'No region yet: a national account.',
    created: 'Account {name} created.',
    tokenOnce: 'This account\'s API token (shown only once, keep it now):',
    save: 'Save changes',
    saved: 'Changes saved.',
    setPassword: 'Set a new password',
    setPasswordHint: 'For another account this resets its password and ends its web sessions.',
    passwordSet: 'Password of {name} saved.',
    deactivate: 'Deactivate the account',
    reactivate: 'Reactivate',
    deactivated: 'Account {name} deactivated: its tokens and sessions no longer work.',
    reactivated: 'Account {name} is active again.',
    self: 'This is your own account.',
    newToken: 'Create an API token',
    tokenLabel: 'Token label (e.g. office phone)',
    tokenMade: 'New token for {name} (shown only once, keep it now):',
    revoke: 'Revoke token {label}',
    revoked: 'revoked',
    noTokens: 'No tokens.',
    madeAt: 'made {when}',
  },
});

const ROLES = ['reporter', 'operator', 'analyst', 'admin'] as const;
type Role = (typeof ROLES)[number];
type Account = Schemas['AccountView'];
const CREATE_FIELDS = ['name', 'display_name', 'role', 'regions', 'email', 'phone', 'telegram', 'password'] as const;
const EDIT_FIELDS = ['display_name', 'role', 'regions', 'email', 'phone', 'telegram'] as const;

const value = (e: Event) => (e.currentTarget as HTMLInputElement).value;

function Secret({ text, secret }: { text: string; secret: string }) {
  return (
    <div class="note secret" role="status">
      <p>{text}</p>
      <code class="token">{secret}</code>
    </div>
  );
}

function NewAccount({ scope, onCreated }: { scope: string[]; onCreated: () => void }) {
  const blank = { name: '', display_name: '', role: 'reporter' as Role, regions: scope.length === 1 ? [...scope] : ([] as string[]), email: '', phone: '', telegram: '', password: '' };
  const [form, setForm] = useState(blank);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [made, setMade] = useState<{ name: string; token: string } | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    const body = {
      name: form.name.trim(),
      role: form.role,
      regions: form.regions,
      display_name: form.display_name.trim() || undefined,
      email: form.email.trim() || undefined,
      phone: form.phone.trim() || undefined,
      telegram: form.telegram.trim() || undefined,
      password: form.password || undefined,
    };
    const { data, error, response } = await api.POST('/api/v1/users', { body });
    if (!data) return setProblem(problemOf(error, response.status, CREATE_FIELDS));
    setProblem(null);
    setMade({ name: data.name, token: data.token });
    setForm(blank);
    onCreated();
  };
  const text = (k: keyof typeof form, label: string, type: 'text' | 'email' | 'tel' | 'password' = 'text', extra: Record<string, unknown> = {}) => (
    <div>
      <label for={`new-account-${k}`}>{label}</label>
      <input id={`new-account-${k}`} name={k} type={type as 'text'} value={form[k] as string} onInput={(e) => setForm({ ...form, [k]: value(e) })} {...extra} {...invalid('new-account', k, problem)} />
      <FieldError form="new-account" field={k} problem={problem} />
    </div>
  );
  return (
    <form id="new-account" class="card stack" onSubmit={submit}>
      <h3>{t('createTitle')}</h3>
      <div class="row">
        {text('name', t('name'), 'text', { required: true, autocapitalize: 'none' })}
        {text('display_name', t('display'))}
        <div>
          <label for="new-account-role">{t('role')}</label>
          <select id="new-account-role" name="role" value={form.role} onChange={(e) => setForm({ ...form, role: value(e) as Role })}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {roleName(r)}
              </option>
            ))}
          </select>
          <FieldError form="new-account" field="role" problem={problem} />
        </div>
      </div>
      <RegionsField id="new-account-regions" label={t('regions')} value={form.regions} scope={scope} hint={t('regionsHint')} emptyText={t('regionsEmpty')} onChange={(regions) => setForm({ ...form, regions })} />
      <FieldError form="new-account" field="regions" problem={problem} />
      <div class="row">
        {text('email', t('email'), 'email')}
        {text('phone', t('phone'), 'tel')}
        {text('telegram', t('telegram'))}
      </div>
      {text('password', t('newPassword'), 'password', { minLength: 12, autocomplete: 'new-password' })}
      <FormError form="new-account" problem={problem} fields={CREATE_FIELDS} />
      <button type="submit">{t('create')}</button>
      {made && (
        <>
          <p class="ok" role="status">
            {t('created', { name: made.name })}
          </p>
          <Secret text={t('tokenOnce')} secret={made.token} />
        </>
      )}
    </form>
  );
}

function Manage({ account, scope, onChanged }: { account: Account; scope: string[]; onChanged: () => void }) {
  const [form, setForm] = useState({
    display_name: account.display_name,
    role: account.role as Role,
    regions: account.regions.map(String),
    email: account.email ?? '',
    phone: account.phone ?? '',
    telegram: account.telegram ?? '',
  });
  const [problem, setProblem] = useState<Problem | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [password, setPassword] = useState('');
  const [pwProblem, setPwProblem] = useState<Problem | null>(null);
  const [label, setLabel] = useState('');
  const [token, setToken] = useState<string | null>(null);
  const [other, setOther] = useState<Problem | null>(null);
  const self = account.name === me.value?.name;
  const form_ = `account-${account.name}`;
  const patch = (body: Schemas['AccountChange']) => api.PATCH('/api/v1/users/{name}', { params: { path: { name: account.name } }, body });

  const save = async (e: Event) => {
    e.preventDefault();
    const { data, error, response } = await patch(form);
    if (!data) return setProblem(problemOf(error, response.status, EDIT_FIELDS));
    setProblem(null);
    setDone(t('saved'));
    onChanged();
  };
  const setPw = async (e: Event) => {
    e.preventDefault();
    const { data, error, response } = await patch({ password });
    if (!data) return setPwProblem(problemOf(error, response.status, ['password']));
    setPwProblem(null);
    setPassword('');
    setDone(t('passwordSet', { name: account.name }));
    onChanged();
  };
  const toggle = async () => {
    const { data, error, response } = await patch({ active: !account.active });
    if (!data) return setOther(problemOf(error, response.status, []));
    setOther(null);
    setDone(t(account.active ? 'deactivated' : 'reactivated', { name: account.name }));
    onChanged();
  };
  const newToken = async (e: Event) => {
    e.preventDefault();
    const { data, error, response } = await api.POST('/api/v1/users/{name}/tokens', { params: { path: { name: account.name } }, body: { label: label.trim() || undefined } });
    if (!data) return setOther(problemOf(error, response.status, []));
    setOther(null);
    setLabel('');
    setToken(data.token);
    onChanged();
  };
  const revoke = async (id: string) => {
    const { error, response } = await api.DELETE('/api/v1/tokens/{id}', { params: { path: { id } } });
    if (!response.ok) return setOther(problemOf(error, response.status, []));
    onChanged();
  };

  return (
    <div class="card stack manage" id={`manage-${account.name}`}>
      <h3>{t('edit', { name: account.name })}</h3>
      {self && <p class="note">{t('self')}</p>}
      <Said done={done} />
      <form id={form_} class="stack" onSubmit={save}>
        <div class="row">
          <div>
            <label for={`${form_}-display_name`}>{t('display')}</label>
            <input id={`${form_}-display_name`} value={form.display_name} onInput={(e) => setForm({ ...form, display_name: value(e) })} {...invalid(form_, 'display_name', problem)} />
            <FieldError form={form_} field="display_name" problem={problem} />
          </div>
          <div>
            <label for={`${form_}-role`}>{t('role')}</label>
            <select id={`${form_}-role`} value={form.role} disabled={self} onChange={(e) => setForm({ ...form, role: value(e) as Role })}>
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {roleName(r)}
                </option>
              ))}
            </select>
            <FieldError form={form_} field="role" problem={problem} />
          </div>
        </div>
        <RegionsField id={`${form_}-regions`} label={t('regions')} value={form.regions} scope={scope} hint={t('regionsHint')} emptyText={t('regionsEmpty')} onChange={(regions) => setForm({ ...form, regions })} />
        <FieldError form={form_} field="regions" problem={problem} />
        <div class="row">
          {(['email', 'phone', 'telegram'] as const).map((k) => (
            <div key={k}>
              <label for={`${form_}-${k}`}>{t(k)}</label>
              <input id={`${form_}-${k}`} type={(k === 'email' ? 'email' : k === 'phone' ? 'tel' : 'text') as 'text'} value={form[k]} onInput={(e) => setForm({ ...form, [k]: value(e) })} {...invalid(form_, k, problem)} />
              <FieldError form={form_} field={k} problem={problem} />
            </div>
          ))}
        </div>
        <FormError form={form_} problem={problem} fields={EDIT_FIELDS} />
        <button type="submit">{t('save')}</button>
      </form>

      <form id={`${form_}-pw`} class="row" onSubmit={setPw}>
        <div>
          <label for={`${form_}-pw-password`}>{t('setPassword')}</label>
          <input
            id={`${form_}-pw-password`}
            type="password"
            autocomplete="new-password"
            minLength={12}
            required
            value={password}
            onInput={(e) => setPassword(value(e))}
            {...(pwProblem?.field === 'password' ? invalid(`${form_}-pw`, 'password', pwProblem) : { 'aria-describedby': `${form_}-pw-hint` })}
          />
          <p class="hint" id={`${form_}-pw-hint`}>
            {t('setPasswordHint')}
          </p>
          <FieldError form={`${form_}-pw`} field="password" problem={pwProblem} />
          <FormError form={`${form_}-pw`} problem={pwProblem} fields={['password']} />
        </div>
        <button type="submit">{t('setPassword')}</button>
      </form>

      {!self && (
        <p>
          <button type="button" class={account.active ? 'secondary deactivate' : 'reactivate'} onClick={toggle}>
            {account.active ? t('deactivate') : t('reactivate')}
          </button>
        </p>
      )}

      <h4>{t('tokens')}</h4>
      {account.tokens.length === 0 ? (
        <p>{t('noTokens')}</p>
      ) : (
        <ul class="tokens">
          {account.tokens.map((tk) => (
            <li key={tk.id}>
              {tk.label || tk.id} · {t('madeAt', { when: formatTime(tk.created_at, account.regions[0]) })}
              {tk.revoked_at ? (
                ` · ${t('revoked')}`
              ) : (
                <>
                  {' '}
                  <button type="button" class="link" onClick={() => revoke(tk.id)}>
                    {t('revoke', { label: tk.label || tk.id })}
                  </button>
                </>
              )}
            </li>
          ))}
        </ul>
      )}
      <form class="row" onSubmit={newToken}>
        <label>
          {t('tokenLabel')}
          <input value={label} onInput={(e) => setLabel(value(e))} />
        </label>
        <button type="submit" class="secondary">
          {t('newToken')}
        </button>
      </form>
      <FormError form={`${form_}-other`} problem={other} fields={[]} />
      {token && <Secret text={t('tokenMade', { name: account.name })} secret={token} />}
    </div>
  );
}

export default function Accounts() {
  lang.value;
  const [users, setUsers] = useState<Account[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const scope = (me.value?.regions ?? []).map(String);
  const load = () =>
    api.GET('/api/v1/users').then(({ data, error, response }) => (data ? (setUsers(data.users), setError(null)) : setError(errorText(error, response.status))));
  useEffect(() => {
    load();
  }, []);
  const opened = users?.find((u) => u.name === open);
  return (
    <>
      <h2>{t('title')}</h2>
      <Said error={error} />
      {users && (
        <div class="table-wrap">
          <table id="accounts">
            <Head cols={[t('name'), t('role'), t('regions'), t('status'), t('password')]} actions={t('manage')} />
            <tbody>
              {users.map((u) => (
                <tr key={u.name} class={u.active ? undefined : 'inactive'}>
                  <th scope="row">
                    {u.name}
                    {u.display_name && u.display_name !== u.name && <div class="meta">{u.display_name}</div>}
                  </th>
                  <td>{roleName(u.role)}</td>
                  <td>{u.regions.length ? u.regions.map((r) => regionName(r)).join(', ') : t('national')}</td>
                  <td>{u.active ? t('active') : t('inactive')}</td>
                  <td>{u.has_password ? t('hasPassword') : t('noPassword')}</td>
                  <td>
                    <button type="button" class="link" aria-expanded={open === u.name} onClick={() => setOpen(open === u.name ? null : u.name)}>
                      {open === u.name ? t('close') : t('edit', { name: u.name })}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {opened && <Manage key={opened.name} account={opened} scope={scope} onChanged={load} />}
      <NewAccount scope={scope} onCreated={load} />
    </>
  );
}
