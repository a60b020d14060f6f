// The rule workbench (admin): the rule files in force with their scope;
// a file in an editor with line numbers and its errors at their lines;
// a text tried against the live rules and the change; a backtest of the
// change over a period; only then a save with a change note; and the
// file's history, each version's diff against the one before, and a
// one-click rollback.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, errorText, me, type Schemas } from '../../api/client';
import { indicatorName, lang, levelName, locale, words } from '../../i18n';
import { formatTime, regionName } from '../../lib/regions';
import { navigate } from '../../lib/router';
import { RegionPicker, dayEnd, dayStart, daysAgo, placeName, within } from '../search/fields';
import { diffLines, hunks } from './diff';

const t = words({
  id: {
    title: 'Aturan klasifikasi',
    intro: 'Setiap berkas aturan berlaku nasional atau hanya untuk wilayah yang disebut di baris regions = [...] di awal berkas.',
    files: 'Berkas aturan',
    file: 'Berkas',
    scope: 'Berlaku untuk',
    national: 'Nasional (semua wilayah)',
    origin: 'Asal',
    'origin.base': 'Bawaan',
    'origin.api': 'Diubah lewat aplikasi',
    changed: 'Perubahan terakhir',
    byAt: '{who}, {when}',
    rules: '{n} aturan, versi {version}',
    problem: 'Aturan terakhir yang disimpan belum berlaku: {problem}',
    newFile: 'Berkas baru',
    newId: 'Nama berkas (huruf kecil, angka, - dan _)',
    newIdHint: 'Nama yang sama dengan berkas bawaan akan menggantikan berkas itu.',
    badId: 'Gunakan huruf kecil, angka, - dan _, misalnya narkoba-lokal.',
    create: 'Buat',
    back: 'Kembali ke daftar berkas',
    editing: 'Berkas {id}',
    isNew: 'Berkas baru: belum berlaku sampai disimpan.',
    content: 'Isi berkas (TOML)',
    lines: 'Nomor baris',
    errors: 'Kesalahan di berkas ini',
    errorAt: 'Baris {line}, kolom {col}: {message}',
    otherErrors: 'Kesalahan di berkas lain',
    goLine: 'Ke baris {line}',
    tryTitle: '1. Coba pada sebuah teks',
    tryHint: 'Tempel teks laporan untuk melihat indikator yang terdeteksi, oleh aturan mana dan kata apa, sebelum dan sesudah perubahan.',
    tryText: 'Teks laporan',
    tryRegion: 'Wilayah laporan (boleh kosong)',
    tryButton: 'Coba',
    live: 'Aturan yang berlaku',
    candidate: 'Dengan perubahan ini',
    nothing: 'Tidak ada indikator yang terdeteksi.',
    score: 'skor {score}',
    firedBy: 'Aturan: {rules}',
    terms: 'Kata yang cocok: {terms}',
    found: 'Wilayah yang ditemukan: {regions}',
    backtestTitle: '2. Uji mundur pada laporan lama',
    backtestHint: 'Jalankan laporan yang tersimpan dalam periode ini melalui aturan yang berlaku dan perubahan ini, lalu lihat apa yang berubah.',
    from: 'Dari tanggal',
    to: 'Sampai tanggal',
    backtest: 'Uji mundur',
    running: 'Sedang berjalan…',
    replayed: '{n} laporan diuji ulang, {from} sampai {to}.',
    indicator: 'Indikator',
    liveCount: 'Sekarang',
    candidateCount: 'Sesudah',
    gained: 'Bertambah',
    lost: 'Berkurang',
    noChange: 'Perubahan ini tidak mengubah indikator laporan mana pun dalam periode ini.',
    gainedEx: 'Contoh laporan yang bertambah {indicator}',
    lostEx: 'Contoh laporan yang kehilangan {indicator}',
    openReport: 'Buka laporan',
    alerts: 'Peringatan',
    alertsCount: 'Peringatan: {live} dengan aturan yang berlaku, {candidate} dengan perubahan ini.',
    newAlerts: 'Peringatan yang akan muncul hanya dengan perubahan ini',
    goneAlerts: 'Peringatan yang tidak akan muncul lagi',
    alertAt: '{indicator} di {region}: {count} laporan, pertama pada {at}',
    alertGone: '{indicator} di {region}',
    saveTitle: '3. Simpan',
    saveHint: 'Simpan setelah uji mundur atas isi berkas yang sekarang.',
    needBacktest: 'Jalankan uji mundur atas isi yang sekarang sebelum menyimpan.',
    note: 'Catatan perubahan (apa dan mengapa)',
    noteNeeded: 'Tulis catatan perubahan: apa yang diubah dan mengapa.',
    save: 'Simpan dan berlakukan',
    saved: 'Disimpan: {n} aturan berlaku, versi {version}.',
    history: 'Riwayat berkas',
    noHistory: 'Berkas ini belum pernah diubah lewat aplikasi: belum ada riwayat.',
    version: 'Versi',
    who: 'Oleh',
    when: 'Waktu',
    noteCol: 'Catatan',
    current: 'berlaku',
    removed: 'dihapus',
    unknown: 'tidak diketahui',
    showDiff: 'Lihat perubahan v{v}',
    hideDiff: 'Tutup perubahan v{v}',
    diffOf: 'Perubahan dari v{a} ke v{b}',
    diffFirst: 'Isi pertama v{b}',
    sameContent: 'Isi sama dengan versi sebelumnya.',
    rollback: 'Kembalikan ke v{v}',
    rolledBack: 'Dikembalikan ke v{v}: {n} aturan berlaku, versi {version}.',
    added: 'ditambah',
    deleted: 'dihapus',
    gap: '…',
    loading: 'Memuat…',
  },
  en: {
    title: 'Classification rules',
    intro: 'Each rule file applies nationally, or only to the regions named in a regions = [...] line at its top.',
    files: 'Rule files',
    file: 'File',
    scope: 'Applies to',
    national: 'National (every region)',
    origin: 'Origin',
    'origin.base': 'Built in',
    'origin.api': 'Changed in the app',
    changed: 'Last change',
    byAt: '{who}, {when}',
    rules: '{n} rules, version {version}',
    problem: 'The rules saved last are not in force: {problem}',
    newFile: 'New file',
    newId: 'File name (lowercase letters, digits, - and _)',
    newIdHint: 'A built-in file\'s name replaces that file.',
    badId: 'Use lowercase letters, digits, - and _, like narkoba-lokal.',
    create: 'Create',
    back: 'Back to the rule files',
    editing: 'File {id}',
    isNew: 'A new file: not in force until saved.',
    content: 'File content (TOML)',
    lines: 'Line numbers',
    errors: 'Errors in this file',
    errorAt: 'Line {line}, column {col}: {message}',
    otherErrors: 'Errors in other files',
    goLine: 'Go to line {line}',
    tryTitle: '1. Try it on a text',
    tryHint: 'Paste a report\'s text to see which indicators are found, by which rules and words, before and after the change.',
    tryText: 'Report text',
    tryRegion: 'The report\'s region (optional)',
    tryButton: 'Try',
    live: 'The rules in force',
    candidate: 'With this change',
    nothing: 'No indicator found.',
    score: 'score {score}',
    firedBy: 'Rules: {rules}',
    terms: 'Words matched: {terms}',
    found: 'Regions found: {regions}',
    backtestTitle: '2. Backtest on past reports',
    backtestHint: 'Run the stored reports of this period through the rules in force and through this change, and see what changes.',
    from: 'From',
    to: 'Until',
    backtest: 'Backtest',
    running: 'Running…',
    replayed: '{n} reports replayed, {from} to {to}.',
    indicator: 'Indicator',
    liveCount: 'Now',
    candidateCount: 'After',
    gained: 'Gained',
    lost: 'Lost',
    noChange: 'This change alters no report\'s indicators in this period.',
    gainedEx: 'Reports that gain {indicator}',
    lostEx: 'Reports that lose {indicator}',
    openReport: 'Open the report',
    alerts: 'Alerts',
    alertsCount: 'Alerts: {live} with the rules in force, {candidate} with this change.',
    newAlerts: 'Alerts only this change would raise',
    goneAlerts: 'Alerts that would no longer be raised',
    alertAt: '{indicator} in {region}: {count} reports, first at {at}',
    alertGone: '{indicator} in {region}',
    saveTitle: '3. Save',
    saveHint: 'Save after a backtest of the content as it is now.',
    needBacktest: 'Backtest the content as it is now before saving.',
    note: 'Change note (what and why)',
    noteNeeded: 'Write a change note: what changed and why.',
    save: 'Save and put in force',
    saved: 'Saved: {n} rules in force, version {version}.',
    history: 'File history',
    noHistory: 'This file was never changed in the app: it has no history yet.',
    version: 'Version',
    who: 'By',
    when: 'When',
    noteCol: 'Note',
    current: 'in force',
    removed: 'removed',
    unknown: 'unknown',
    showDiff: 'Show the changes of v{v}',
    hideDiff: 'Hide the changes of v{v}',
    diffOf: 'Changes from v{a} to v{b}',
    diffFirst: 'First content, v{b}',
    sameContent: 'Same content as the version before.',
    rollback: 'Roll back to v{v}',
    rolledBack: 'Rolled back to v{v}: {n} rules in force, version {version}.',
    added: 'added',
    deleted: 'removed',
    gap: '…',
    loading: 'Loading…',
  },
});

type Key = Parameters<typeof t>[0];
type Classification = Schemas['Classification'];
type Backtest = Schemas['BacktestAnswer'];

type Version = Schemas['RuleVersion'];
type History = Schemas['RuleHistory'];

const ID = /^[a-z0-9_-]{1,64}$/;

/** `narkoba` for `…/narkoba.toml`, as the API names files by id. */
const stem = (name: string) => name.split(/[/\\]/).pop()!.replace(/\.toml$/, '');

const scopeText = (regions: string[]) => (regions.length ? regions.map(regionName).join(', ') : t('national'));

/** A rule error from a 422: `file:line:col: message`, one a line. */
type RuleError = { file: string; line: number; col: number; message: string };

export function ruleErrors(message: string): { errors: RuleError[]; rest: string[] } {
  const errors: RuleError[] = [];
  const rest: string[] = [];
  for (const line of message.split('\n')) {
    const m = /^(.*?):(\d+):(\d+): (.*)$/.exec(line.trim());
    if (m) errors.push({ file: m[1], line: Number(m[2]), col: Number(m[3]), message: m[4] });
    else if (line.trim()) rest.push(line.trim());
  }
  return { errors, rest };
}

/** The text with the byte ranges `ranges` (UTF-8 offsets, as the classifier gives them) marked. */
function Marked({ text, ranges }: { text: string; ranges: [number, number][] }) {
  // UTF-16 index of each UTF-8 byte offset
  const index = new Map<number, number>();
  let bytes = 0;
  let i = 0;
  for (const ch of text) {
    index.set(bytes, i);
    const code = ch.codePointAt(0)!;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    i += ch.length;
  }
  index.set(bytes, i);
  const spans = ranges
    .map(([s, e]) => [index.get(s), index.get(e)] as const)
    .filter((r): r is readonly [number, number] => r[0] !== undefined && r[1] !== undefined && r[0] < r[1])
    .sort((a, b) => a[0] - b[0]);
  const out: (string | preact.JSX.Element)[] = [];
  let at = 0;
  for (const [s, e] of spans) {
    if (s < at) continue;
    out.push(text.slice(at, s), <mark key={s}>{text.slice(s, e)}</mark>);
    at = e;
  }
  out.push(text.slice(at));
  return <p class="marked">{out}</p>;
}

function Verdict({ c, text, heading, rules }: { c: Classification; text: string; heading: string; rules: Map<string, string> }) {
  const ranges = c.indicators.flatMap((i) => i.matches.filter((m) => m.field === 'text').map((m) => [m.start, m.end] as [number, number]));
  return (
    <div class="card verdict">
      <h4>{heading}</h4>
      {c.indicators.length === 0 ? (
        <p>{t('nothing')}</p>
      ) : (
        <>
          <ul>
            {c.indicators.map((i) => (
              <li key={i.id}>
                <strong>{indicatorName(i.id)}</strong> ({t('score', { score: i.score.toLocaleString(locale(), { maximumFractionDigits: 2 }) })})
                <br />
                {t('firedBy', { rules: i.rules.map((r) => (rules.get(r) ? `${r} (${rules.get(r)})` : r)).join(', ') })}
                <br />
                {t('terms', { terms: [...new Set(i.matches.map((m) => m.term))].join(', ') })}
              </li>
            ))}
          </ul>
          <Marked text={text} ranges={ranges} />
        </>
      )}
      {c.regions.length > 0 && <p class="meta">{t('found', { regions: [...new Set(c.regions.map((r) => placeName(r)))].join(', ') })}</p>}
    </div>
  );
}

/** A textarea with line numbers beside it, and the lines with errors marked. */
function Editor(props: { value: string; onInput: (v: string) => void; bad: Set<number>; area: { current: HTMLTextAreaElement | null } }) {
  const gutter = useRef<HTMLDivElement>(null);
  const count = props.value.split('\n').length;
  return (
    <div class="editor">
      <div class="gutter" ref={gutter} aria-hidden="true">
        {Array.from({ length: count }, (_, i) => (
          <span key={i} class={props.bad.has(i + 1) ? 'bad' : undefined}>
            {i + 1}
          </span>
        ))}
      </div>
      <textarea
        id="rule-content"
        ref={(el) => {
          props.area.current = el;
        }}
        value={props.value}
        wrap="off"
        spellcheck={false}
        autocapitalize="off"
        aria-describedby="rule-errors"
        aria-invalid={props.bad.size ? 'true' : undefined}
        onInput={(e) => props.onInput((e.currentTarget as HTMLTextAreaElement).value)}
        onScroll={(e) => gutter.current && (gutter.current.scrollTop = (e.currentTarget as HTMLTextAreaElement).scrollTop)}
      />
    </div>
  );
}

function Diff({ before, after }: { before: string; after: string }) {
  const lines = hunks(diffLines(before, after));
  if (!lines.length) return <p>{t('sameContent')}</p>;
  return (
    <pre class="diff">
      {lines.map((l, i) =>
        l === null ? (
          <span key={i} class="gap">
            {t('gap') + '\n'}
          </span>
        ) : (
          <span key={i} class={l.kind === '+' ? 'add' : l.kind === '-' ? 'del' : undefined}>
            {l.kind !== ' ' && <span class="visually-hidden">{l.kind === '+' ? t('added') : t('deleted')}: </span>}
            {`${l.kind} ${l.text}\n`}
          </span>
        ),
      )}
    </pre>
  );
}

function FileList({ set, reload }: { set: Schemas['RulesInForce']; reload: () => void }) {
  const [id, setId] = useState('');
  const [bad, setBad] = useState(false);
  useEffect(reload, []);
  return (
    <>
      <p>{t('intro')}</p>
      <p class="meta">{t('rules', { n: set.rules.length, version: set.version })}</p>
      {set.problem && (
        <p class="err" role="alert">
          {t('problem', { problem: set.problem })}
        </p>
      )}
      <h2>{t('files')}</h2>
      <div class="table-wrap">
        <table id="rule-files">
          <thead>
            <tr>
              <th scope="col">{t('file')}</th>
              <th scope="col">{t('scope')}</th>
              <th scope="col">{t('origin')}</th>
              <th scope="col">{t('changed')}</th>
            </tr>
          </thead>
          <tbody>
            {set.files.map((f) => (
              <tr key={f.name}>
                <th scope="row">
                  <a href={`#/rules/${stem(f.name)}`}>{stem(f.name)}</a>
                </th>
                <td>{scopeText(f.regions)}</td>
                <td>{t(`origin.${f.origin}` as Key)}</td>
                <td>
                  {f.author ? t('byAt', { who: f.author, when: formatTime(f.updated_at, f.regions[0]) }) : ''}
                  {f.note ? <div class="meta">{f.note}</div> : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h2>{t('newFile')}</h2>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          if (!ID.test(id)) return setBad(true);
          navigate(`/rules/${id}`);
        }}
      >
        <div>
          <label for="new-rule-id">{t('newId')}</label>
          <input id="new-rule-id" value={id} aria-describedby="new-rule-id-hint" aria-invalid={bad ? 'true' : undefined} onInput={(e) => (setId((e.currentTarget as HTMLInputElement).value.trim()), setBad(false))} />
          <p id="new-rule-id-hint" class={bad ? 'err' : 'hint'} role={bad ? 'alert' : undefined}>
            {bad ? t('badId') : t('newIdHint')}
          </p>
        </div>
        <button type="submit">{t('create')}</button>
      </form>
    </>
  );
}

function Workbench({ id, set, reload }: { id: string; set: Schemas['RulesInForce']; reload: () => void }) {
  const file = set.files.find((f) => stem(f.name) === id);
  const scope = me.value?.regions ?? [];
  const starter = scope.length ? `regions = [${scope.map((r) => `"${r}"`).join(', ')}]\n\n` : '';
  const [content, setContent] = useState(file?.content ?? starter);
  const [errors, setErrors] = useState<RuleError[]>([]);
  const [other, setOther] = useState<string | null>(null);
  const [text, setText] = useState('');
  const [region, setRegion] = useState('');
  const [tried, setTried] = useState<{ answer: Schemas['TestAnswer']; text: string } | null>(null);
  const [from, setFrom] = useState(daysAgo(30));
  const [to, setTo] = useState(daysAgo(0));
  const [backtest, setBacktest] = useState<Backtest | null>(null);
  const [checked, setChecked] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [note, setNote] = useState('');
  const [noteBad, setNoteBad] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const [history, setHistory] = useState<History | null | 'none'>(null);
  const [open, setOpen] = useState<number | null>(null);
  const area = useRef<HTMLTextAreaElement | null>(null);
  const rules = new Map(set.rules.map((r) => [r.id, r.description]));
  const own = `api/${id}.toml`;

  const loadHistory = () =>
    api.GET('/api/v1/rules/{id}/history', { params: { path: { id } } }).then(({ data, response }) => setHistory(data ?? (response.status === 404 ? 'none' : null)));
  useEffect(() => {
    loadHistory();
  }, [id]);

  /** Shows an answer's error: rule errors at their lines, anything else as a message. */
  const fail = (error: unknown, status: number) => {
    const detail = (error as { error?: { code?: string; message?: string } } | undefined)?.error;
    if (detail?.code === 'invalid_rules' && detail.message) {
      const { errors: all, rest } = ruleErrors(detail.message);
      const mine = all.filter((e) => e.file === own || e.file === 'api/candidate.toml');
      setErrors(mine);
      const others = [...all.filter((e) => !mine.includes(e)).map((e) => `${e.file}:${e.line}:${e.col}: ${e.message}`), ...rest];
      setOther(others.length ? `${t('otherErrors')}: ${others.join('; ')}` : null);
    } else {
      setErrors([]);
      setOther(errorText(error, status));
    }
  };
  const ok = () => {
    setErrors([]);
    setOther(null);
  };
  const edit = (v: string) => {
    setContent(v);
    setDone(null);
  };
  const goLine = (line: number) => {
    const el = area.current;
    if (!el) return;
    const lines = content.split('\n');
    const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    el.focus();
    el.setSelectionRange(start, start + (lines[line - 1]?.length ?? 0));
    el.scrollTop = Math.max(0, (line - 3) * parseFloat(getComputedStyle(el).lineHeight || '20'));
  };

  const tryText = async (e: Event) => {
    e.preventDefault();
    setBusy('try');
    const { data, error, response } = await api.POST('/api/v1/rules/test', { body: { rules: content, file: id, text, region: region || undefined } });
    setBusy(null);
    if (data) {
      ok();
      setTried({ answer: data, text });
    } else {
      setTried(null);
      fail(error, response.status);
    }
  };
  const runBacktest = async (e: Event) => {
    e.preventDefault();
    setBusy('backtest');
    const ran = content;
    const { data, error, response } = await api.POST('/api/v1/rules/backtest', {
      body: { rules: ran, file: id, from: dayStart(from, scope[0]), to: dayEnd(to, scope[0]) },
    });
    setBusy(null);
    if (data) {
      ok();
      setBacktest(data);
      setChecked(ran);
    } else {
      setBacktest(null);
      setChecked(null);
      fail(error, response.status);
    }
  };
  const save = async (e: Event) => {
    e.preventDefault();
    if (!note.trim()) return setNoteBad(true);
    setBusy('save');
    const { data, error, response } = await api.PUT('/api/v1/rules/{id}', { params: { path: { id } }, body: { content, note: note.trim() } });
    setBusy(null);
    if (data) {
      ok();
      setNote('');
      setDone(t('saved', { n: data.rules, version: data.version }));
      reload();
      loadHistory();
    } else fail(error, response.status);
  };
  const rollback = async (v: Version) => {
    setBusy('rollback');
    const { data, error, response } = await api.POST('/api/v1/rules/{id}/rollback', { params: { path: { id } }, body: { version: v.version } });
    setBusy(null);
    if (data) {
      ok();
      setContent(v.content);
      setChecked(null);
      setBacktest(null);
      setDone(t('rolledBack', { v: v.version, n: data.rules, version: data.version }));
      reload();
      loadHistory();
    } else fail(error, response.status);
  };

  const bad = new Set(errors.map((e) => e.line));
  // a national admin changes any file; a regional one only files local to their regions
  const mayChange = scope.length === 0 || !file || (file.regions.length > 0 && file.regions.every((r) => within(r, scope)));
  const upToDate = checked === content;
  const changes = backtest ? Object.entries(backtest.indicators).filter(([, c]) => c.gained || c.lost) : [];
  const versions = history && history !== 'none' ? [...history.versions].reverse() : [];
  const previous = (v: Version) => history && history !== 'none' ? history.versions.find((x) => x.version === v.version - 1) : undefined;

  return (
    <>
      <p>
        <a href="#/rules">{t('back')}</a>
      </p>
      <h2 class="file-title">{t('editing', { id })}</h2>
      <p class="meta">
        {t('scope')}: {scopeText(file?.regions ?? [])}
        {file ? ` · ${t(`origin.${file.origin}` as Key)}` : ''}
      </p>
      {!file && <p class="note">{t('isNew')}</p>}

      <label for="rule-content">{t('content')}</label>
      <Editor value={content} onInput={edit} bad={bad} area={area} />
      <div id="rule-errors" aria-live="polite">
        {errors.length > 0 && (
          <div class="err-box" role="alert">
            <h3>{t('errors')}</h3>
            <ul>
              {errors.map((e, i) => (
                <li key={i}>
                  <button type="button" class="link" onClick={() => goLine(e.line)}>
                    {t('errorAt', { line: e.line, col: e.col, message: e.message })}
                  </button>
                </li>
              ))}
            </ul>
          </div>
        )}
        {other && (
          <p class="err" role="alert">
            {other}
          </p>
        )}
      </div>

      <h3>{t('tryTitle')}</h3>
      <p class="hint">{t('tryHint')}</p>
      <form class="stack" onSubmit={tryText}>
        <label>
          {t('tryText')}
          <textarea id="try-text" value={text} required onInput={(e) => setText((e.currentTarget as HTMLTextAreaElement).value)} />
        </label>
        <RegionPicker id="try-region" label={t('tryRegion')} value={region} onChange={setRegion} />
        <button type="submit" id="try-button" disabled={busy !== null}>
          {t('tryButton')}
        </button>
      </form>
      {tried && (
        <div class="compare" id="try-result">
          <Verdict c={tried.answer.live} text={tried.text} heading={t('live')} rules={rules} />
          {tried.answer.candidate && <Verdict c={tried.answer.candidate} text={tried.text} heading={t('candidate')} rules={rules} />}
        </div>
      )}

      <h3>{t('backtestTitle')}</h3>
      <p class="hint">{t('backtestHint')}</p>
      <form class="row" onSubmit={runBacktest}>
        <label>
          {t('from')}
          <input type="date" value={from} required onInput={(e) => setFrom((e.currentTarget as HTMLInputElement).value)} />
        </label>
        <label>
          {t('to')}
          <input type="date" value={to} required onInput={(e) => setTo((e.currentTarget as HTMLInputElement).value)} />
        </label>
        <button type="submit" id="run-backtest" disabled={busy !== null}>
          {busy === 'backtest' ? t('running') : t('backtest')}
        </button>
      </form>
      {backtest && (
        <div id="backtest" class="stack">
          <p>{t('replayed', { n: backtest.reports.toLocaleString(locale()), from: formatTime(backtest.from, scope[0]), to: formatTime(backtest.to, scope[0]) })}</p>
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('indicator')}</th>
                  <th scope="col">{t('liveCount')}</th>
                  <th scope="col">{t('candidateCount')}</th>
                  <th scope="col">{t('gained')}</th>
                  <th scope="col">{t('lost')}</th>
                </tr>
              </thead>
              <tbody>
                {Object.entries(backtest.indicators).map(([i, c]) => (
                  <tr key={i}>
                    <th scope="row">{indicatorName(i)}</th>
                    <td>{c.live}</td>
                    <td>{c.candidate}</td>
                    <td class={c.gained ? 'ok' : undefined}>+{c.gained}</td>
                    <td class={c.lost ? 'err' : undefined}>−{c.lost}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {changes.length === 0 && <p>{t('noChange')}</p>}
          {changes.map(([i, c]) =>
            (
              [
                ['gainedEx', c.gained_examples],
                ['lostEx', c.lost_examples],
              ] as const
            ).map(
              ([k, examples]) =>
                examples.length > 0 && (
                  <details key={i + k} open>
                    <summary>{t(k, { indicator: indicatorName(i) })}</summary>
                    <ul class="examples">
                      {examples.map((ex) => (
                        <li key={ex.id}>
                          <a href={`#/reports/${ex.id}`}>{t('openReport')}</a>: “{ex.excerpt}” <span class="meta">({[...ex.terms].join(', ')})</span>
                        </li>
                      ))}
                    </ul>
                  </details>
                ),
            ),
          )}
          <h4>{t('alerts')}</h4>
          <p>{t('alertsCount', { live: backtest.alerts.live, candidate: backtest.alerts.candidate })}</p>
          {backtest.alerts.only_candidate.length > 0 && (
            <>
              <p>{t('newAlerts')}</p>
              <ul>
                {backtest.alerts.only_candidate.map((a, i) => (
                  <li key={i}>
                    <span class={`badge lvl-${a.level}`}>{levelName(a.level)}</span>{' '}
                    {t('alertAt', { indicator: indicatorName(a.indicator), region: a.region_name || regionName(a.region), count: a.count, at: formatTime(a.at, a.region) })}
                  </li>
                ))}
              </ul>
            </>
          )}
          {backtest.alerts.only_live.length > 0 && (
            <>
              <p>{t('goneAlerts')}</p>
              <ul>
                {backtest.alerts.only_live.map((a, i) => (
                  <li key={i}>
                    <span class={`badge lvl-${a.level}`}>{levelName(a.level)}</span> {t('alertGone', { indicator: indicatorName(a.indicator), region: regionName(a.region) })}
                  </li>
                ))}
              </ul>
            </>
          )}
        </div>
      )}

      <h3>{t('saveTitle')}</h3>
      <form class="stack" onSubmit={save}>
        {!upToDate && <p class="note">{t('needBacktest')}</p>}
        <div>
          <label for="rule-note">{t('note')}</label>
          <textarea
            id="rule-note"
            value={note}
            maxLength={1000}
            aria-describedby="rule-note-hint"
            aria-invalid={noteBad ? 'true' : undefined}
            onInput={(e) => (setNote((e.currentTarget as HTMLTextAreaElement).value), setNoteBad(false))}
          />
          <p id="rule-note-hint" class={noteBad ? 'err' : 'hint'} role={noteBad ? 'alert' : undefined}>
            {noteBad ? t('noteNeeded') : t('saveHint')}
          </p>
        </div>
        <button type="submit" id="save-rule" disabled={!upToDate || busy !== null || !mayChange}>
          {t('save')}
        </button>
        {done && (
          <p class="ok" role="status" id="rule-done">
            {done}
          </p>
        )}
      </form>

      <h3>{t('history')}</h3>
      {history === 'none' && <p>{t('noHistory')}</p>}
      {versions.length > 0 && (
        <div class="table-wrap">
          <table id="rule-history">
            <thead>
              <tr>
                <th scope="col">{t('version')}</th>
                <th scope="col">{t('who')}</th>
                <th scope="col">{t('when')}</th>
                <th scope="col">{t('noteCol')}</th>
                <th scope="col">
                  <span class="visually-hidden">{t('rollback', { v: '' })}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {versions.map((v) => {
                const isCurrent = history !== 'none' && history?.current === v.version;
                const before = previous(v);
                return [
                  <tr key={v.version}>
                    <th scope="row">
                      v{v.version}
                      {isCurrent && <span class="badge current"> {t('current')}</span>}
                      {v.removed && <span class="meta"> ({t('removed')})</span>}
                    </th>
                    <td>{v.author ?? t('unknown')}</td>
                    <td>{v.at ? formatTime(v.at, v.regions[0]) : t('unknown')}</td>
                    <td>{v.note}</td>
                    <td class="actions">
                      <button type="button" class="link" aria-expanded={open === v.version} onClick={() => setOpen(open === v.version ? null : v.version)}>
                        {open === v.version ? t('hideDiff', { v: v.version }) : t('showDiff', { v: v.version })}
                      </button>
                      {!isCurrent && !v.removed && (
                        <button type="button" class="secondary rollback" disabled={busy !== null || !mayChange} onClick={() => rollback(v)}>
                          {t('rollback', { v: v.version })}
                        </button>
                      )}
                    </td>
                  </tr>,
                  open === v.version && (
                    <tr key={v.version + 'd'} class="diff-row">
                      <td colSpan={5}>
                        <p class="meta">{before ? t('diffOf', { a: before.version, b: v.version }) : t('diffFirst', { b: v.version })}</p>
                        <Diff before={before?.content ?? ''} after={v.content} />
                      </td>
                    </tr>
                  ),
                ];
              })}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

export default function Rules({ id }: Record<string, string>) {
  lang.value;
  const [set, setSet] = useState<Schemas['RulesInForce'] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const reload = () => {
    api.GET('/api/v1/rules').then(({ data, error, response }) => (data ? setSet(data) : setError(errorText(error, response.status))));
  };
  useEffect(reload, []);
  return (
    <section class="rules">
      <h1>{t('title')}</h1>
      {error && (
        <p class="err" role="alert">
          {error}
        </p>
      )}
      {set && (id ? ID.test(id) ? <Workbench key={id} id={id} set={set} reload={reload} /> : <p role="alert">{t('badId')}</p> : <FileList set={set} reload={reload} />)}
      {!set && !error && <p aria-busy="true">{t('loading')}</p>}
    </section>
  );
}
