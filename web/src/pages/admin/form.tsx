// What the admin forms share: an API error placed at the field it names
// (`field: message`), said in Indonesian with the API's own detail after
// it, or as one message for the whole form.
import { errorText } from '../../api/client';
import { words } from '../../i18n';

export const f = words({
  id: {
    'field.name': 'Gunakan 2–64 huruf kecil, angka, titik, garis bawah atau tanda hubung, diawali huruf atau angka.',
    'field.display_name': 'Tulis nama pada satu baris.',
    'field.password': 'Kata sandi minimal 12 karakter.',
    'field.regions': 'Pilih wilayah di dalam wilayah Anda.',
    'field.region': 'Pilih wilayah di dalam wilayah Anda.',
    'field.email': 'Tulis satu alamat seperti nama@contoh.go.id.',
    'field.emails': 'Tulis satu alamat per baris, seperti nama@contoh.go.id.',
    'field.phone': 'Tulis nomor ponsel seperti +6281234567890.',
    'field.phones': 'Tulis satu nomor per baris, seperti +6281234567890.',
    'field.telegram': 'Tulis ID pengguna Telegram (angka).',
    'field.role': 'Pilih peran.',
    'field.indicators': 'Pilih indikator yang dikenal aturan.',
    'field.indicator': 'Pilih indikator yang dikenal aturan, atau semua.',
    'field.parent': 'Pilih unit induk di wilayah Anda atau di atasnya.',
    'field.working_hours': 'Periksa hari dan jam kerja.',
    'field.until': 'Pilih waktu berakhir di masa depan, paling lama 30 hari lagi.',
    'field.reason': 'Tulis alasan pada satu baris.',
    'field.label': 'Tulis label pada satu baris.',
    'field.active': 'Anda tidak dapat menonaktifkan akun Anda sendiri.',
    conflict: 'Nama, email, nomor ponsel atau ID Telegram ini sudah dipakai akun lain.',
    detail: 'Rincian dari server:',
  },
  en: {
    'field.name': 'Use 2–64 lowercase letters, digits, dots, underscores or hyphens, starting with a letter or digit.',
    'field.display_name': 'Write the name on one line.',
    'field.password': 'A password has at least 12 characters.',
    'field.regions': 'Choose regions within yours.',
    'field.region': 'Choose a region within yours.',
    'field.email': 'Write one address like nama@contoh.go.id.',
    'field.emails': 'Write one address a line, like nama@contoh.go.id.',
    'field.phone': 'Write a mobile number like +6281234567890.',
    'field.phones': 'Write one number a line, like +6281234567890.',
    'field.telegram': 'Write the Telegram user id (digits).',
    'field.role': 'Choose a role.',
    'field.indicators': 'Choose indicators the rules know.',
    'field.indicator': 'Choose an indicator the rules know, or all.',
    'field.parent': 'Choose a parent unit of your regions or above them.',
    'field.working_hours': 'Check the working days and hours.',
    'field.until': 'Choose an end in the future, at most 30 days away.',
    'field.reason': 'Write the reason on one line.',
    'field.label': 'Write the label on one line.',
    'field.active': 'You cannot deactivate your own account.',
    conflict: 'This name, email, phone number or Telegram id belongs to another account.',
    detail: 'The server says:',
  },
});

/** A failed call, said for a person: at a field, or for the whole form. */
export type Problem = { field?: string; text: string; detail?: string };

export function problemOf(error: unknown, status: number, fields: readonly string[]): Problem {
  const detail = (error as { error?: { code?: string; message?: string } } | undefined)?.error;
  const message = detail?.message ?? '';
  const m = /^([a-z_]+): ([\s\S]*)$/.exec(message);
  if (m && fields.includes(m[1])) {
    const key = `field.${m[1]}` as Parameters<typeof f>[0];
    const said = f(key);
    return { field: m[1], text: said === key ? '' : said, detail: m[2] };
  }
  if (status === 409 && detail?.code === 'unavailable') return { text: f('conflict'), detail: message };
  const text = errorText(error, status);
  return text === message ? { text: '', detail: message } : { text };
}

/** The message under field `field` of a form (its id is `<form>-<field>-err`). */
export function FieldError({ form, field, problem }: { form: string; field: string; problem: Problem | null }) {
  if (!problem || problem.field !== field) return null;
  return <ProblemText id={`${form}-${field}-err`} problem={problem} />;
}

/** A problem that names no field of the form, as an alert. */
export function FormError({ form, problem, fields }: { form: string; problem: Problem | null; fields: readonly string[] }) {
  if (!problem || (problem.field && fields.includes(problem.field))) return null;
  return <ProblemText id={`${form}-err`} problem={problem} />;
}

function ProblemText({ id, problem }: { id: string; problem: Problem }) {
  return (
    <p class="err" role="alert" id={id}>
      {problem.text}
      {problem.detail && (
        <>
          {problem.text ? ' ' : ''}
          <span class="detail">
            {problem.text ? f('detail') + ' ' : ''}
            <span lang="en">{problem.detail}</span>
          </span>
        </>
      )}
    </p>
  );
}

/** The `aria-describedby` and `aria-invalid` of a field with `problem`. */
export function invalid(form: string, field: string, problem: Problem | null) {
  return problem?.field === field ? { 'aria-invalid': 'true' as const, 'aria-describedby': `${form}-${field}-err` } : {};
}

/** A section's outcome: what failed (an alert) and what was done. */
export function Said({ error, done }: { error?: string | null; done?: string | null }) {
  return (
    <>
      {error && (
        <p class="err" role="alert">
          {error}
        </p>
      )}
      {done && (
        <p class="ok" role="status">
          {done}
        </p>
      )}
    </>
  );
}

/** A table's header row; the last column, of buttons, is named for screen readers only. */
export function Head({ cols, actions }: { cols: string[]; actions: string }) {
  return (
    <thead>
      <tr>
        {cols.map((c) => (
          <th key={c} scope="col">
            {c}
          </th>
        ))}
        <th scope="col">
          <span class="visually-hidden">{actions}</span>
        </th>
      </tr>
    </thead>
  );
}
