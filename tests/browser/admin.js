// The admin's journey (WEB-B): the rule workbench (an error shown at its
// line, a text tried, a backtest, a save with a note, a second change, the
// history with its diff, and a rollback), accounts (a field's error from
// the API next to it, a new account with its token, its password set,
// then signed in as it, then deactivated), a unit with working hours, a
// silence, and the trends page with alert levels; then the same pages on
// a phone with no sideways scroll.
// env: KENTONGAN_URL, USER_NAME, USER_PASSWORD, RULE_FILE (the id of the
//      base rule file), plus those of lib.js
const lib = require('./lib');
const { URL, LAPTOP, PHONE, context, signIn, main, expectText, expectCount, eventually } = lib;

const user = process.env.USER_NAME;
const password = process.env.USER_PASSWORD;
const file = process.env.RULE_FILE;

function expect(ok, message) {
  if (!ok) throw new Error(message);
}

/** lib.js's check, and the page no wider than the screen it was opened on:
 * a phone's browser zooms out to a wider page, which widens innerWidth too. */
async function check(page, name) {
  await lib.check(page, name);
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(wide <= page.viewportSize().width + 1, `${name} is ${wide}px wide on a ${page.viewportSize().width}px screen`);
}

const rules = (terms) =>
  `[[rule]]\nid = "n"\nindicator = "narkoba"\nany = [${terms.map((t) => `"${t}"`).join(', ')}]\n\n[threshold.narkoba]\nwindow = "1h"\nwaspada = 1\n`;

/** Backtests the editor's content, then saves it with `note`. */
async function backtestAndSave(page, note) {
  await page.click('#run-backtest');
  await page.locator('#backtest').waitFor({ timeout: 20000 });
  await page.fill('#rule-note', note);
  await page.click('#save-rule');
  await page.locator('#rule-done', { hasText: 'Disimpan' }).waitFor({ timeout: 10000 });
}

async function workbench(page) {
  await page.goto(URL + '/#/rules');
  await page.locator('#rule-files').waitFor({ timeout: 10000 });
  await expectText(page.locator('#rule-files'), [file, 'Nasional'], 'the file list');
  await check(page, 'rules');
  await page.click(`#rule-files a[href="#/rules/${file}"]`);
  await page.locator('#rule-content').waitFor();
  await eventually(() => page.inputValue('#rule-content'), (v) => v.includes('"sabu"'), 'the editor does not hold the file');
  // saving waits for a backtest of this very content
  expect(await page.locator('#save-rule').isDisabled(), 'save is possible before a backtest');

  // an error: shown at its line, in the gutter and in words
  await page.fill('#rule-content', '[[rule]]\nid = "n"\nindicator = "narkoba"\nany = ["sabu", "ganja"\n');
  await page.click('#run-backtest');
  await page.locator('.err-box').waitFor({ timeout: 10000 });
  await eventually(() => page.locator('.err-box').innerText(), (t) => /Baris \d+, kolom \d+/.test(t), 'the error is not placed at a line');
  await expectCount(page.locator('.editor .gutter span.bad'), 1, 'the lines marked in the gutter');
  await check(page, 'rules-error');

  // a text tried: the change finds ganja, the live rules do not
  await page.fill('#rule-content', rules(['sabu', 'ganja']));
  await page.fill('#try-text', 'Peredaran ganja kering di pelabuhan Pantoloan');
  await page.click('#try-button');
  await page.locator('#try-result').waitFor({ timeout: 10000 });
  const verdicts = page.locator('#try-result .verdict');
  await expectText(verdicts.nth(0), ['Tidak ada indikator'], 'the live rules\' verdict');
  await expectText(verdicts.nth(1), ['Narkoba', 'ganja'], 'the change\'s verdict');
  expect((await verdicts.nth(1).locator('mark').allInnerTexts()).includes('ganja'), 'ganja is not marked in the text');
  expect((await page.locator('.err-box').count()) === 0, 'the old error is still shown');

  // the backtest: one report gains narkoba, and an alert would fire
  await page.click('#run-backtest');
  await page.locator('#backtest').waitFor({ timeout: 20000 });
  await expectText(page.locator('#backtest'), ['+1', 'ganja kering', 'Peringatan yang akan muncul hanya dengan perubahan ini'], 'the backtest');
  await check(page, 'rules-backtest');
  // a change after the backtest needs another one
  await page.fill('#rule-content', rules(['sabu', 'ganja ']));
  expect(await page.locator('#save-rule').isDisabled(), 'save is possible after an edit without a backtest');
  await page.fill('#rule-content', rules(['sabu', 'ganja']));
  await backtestAndSave(page, 'tambah ganja');
  await page.locator('#rule-history', { hasText: 'tambah ganja' }).waitFor({ timeout: 10000 });

  // a second change, then its diff in the history, and a rollback to the first
  await page.fill('#rule-content', rules(['sabu', 'ganja', 'heroin']));
  await backtestAndSave(page, 'tambah heroin');
  await page.locator('#rule-history', { hasText: 'tambah heroin' }).waitFor({ timeout: 10000 });
  await expectText(page.locator('#rule-history'), [user, 'WIB'], 'the history');
  await page.locator('#rule-history button', { hasText: 'Lihat perubahan v2' }).click();
  await eventually(() => page.locator('#rule-history .diff').innerText(), (diff) => {
    const removed = diff.indexOf('- any = ["sabu", "ganja"]');
    return removed >= 0 && diff.indexOf('+ any = ["sabu", "ganja", "heroin"]') > removed;
  }, 'the diff is');
  await check(page, 'rules-history');
  await page.locator('#rule-history button.rollback', { hasText: 'Kembalikan ke v1' }).click();
  await page.locator('#rule-done', { hasText: 'Dikembalikan ke v1' }).waitFor({ timeout: 10000 });
  await page.locator('#rule-history', { hasText: 'rollback to v1' }).waitFor({ timeout: 10000 });
  expect(!(await page.inputValue('#rule-content')).includes('heroin'), 'the editor still holds the rolled-back change');
}

async function accounts(browser, page) {
  await page.goto(URL + '/#/admin/accounts');
  await page.locator('#accounts').waitFor({ timeout: 10000 });
  // the API's check of a field, next to that field
  await page.fill('#new-account-name', 'Petugas Baru!');
  await page.click('#new-account button[type=submit]');
  await page.locator('#new-account-name-err').waitFor({ timeout: 10000 });
  await expectText(page.locator('#new-account-name-err'), ['huruf kecil'], 'the name\'s error');
  await check(page, 'admin-accounts-error');

  await page.fill('#new-account-name', 'petugas-baru');
  await page.fill('#new-account-display_name', 'Petugas Baru');
  await page.selectOption('#new-account-role', 'operator');
  await page.fill('#new-account-regions', 'Kota Palu, Sulawesi Tengah (72.71)');
  await page.locator('#new-account .chips', { hasText: 'Kota Palu' }).waitFor();
  await page.click('#new-account button[type=submit]');
  await page.locator('#new-account code.token').waitFor({ timeout: 10000 });
  await eventually(() => page.locator('#new-account code.token').innerText(), (t) => t.length > 20, 'no token shown');
  await page.locator('#accounts tr', { hasText: 'petugas-baru' }).waitFor();
  await page.locator('#accounts tr', { hasText: 'petugas-baru' }).locator('button').click();
  await page.fill('#account-petugas-baru-pw-password', 'kata-sandi-petugas-1');
  await page.click('#account-petugas-baru-pw button[type=submit]');
  await page.locator('#manage-petugas-baru .ok', { hasText: 'Kata sandi petugas-baru disimpan' }).waitFor({ timeout: 10000 });
  await check(page, 'admin-accounts');

  // the new account signs in with that password
  const other = await context(browser, LAPTOP);
  const theirs = await other.newPage();
  await signIn(theirs, 'petugas-baru', 'kata-sandi-petugas-1');
  await expectText(theirs.locator('header.top .who'), ['Petugas Baru', 'Operator'], 'the signed-in account');
  await other.close();

  await page.click('#manage-petugas-baru button.deactivate');
  await page.locator('#manage-petugas-baru .ok', { hasText: 'dinonaktifkan' }).waitFor({ timeout: 10000 });
  await page.locator('#accounts tr', { hasText: 'petugas-baru' }).filter({ hasText: 'Nonaktif' }).waitFor();
}

async function unitsAndSilences(page) {
  await page.goto(URL + '/#/admin/units');
  await page.locator('#new-unit').waitFor({ timeout: 10000 });
  await page.fill('#new-unit-name', 'Kesbangpol Kota Palu');
  await page.fill('#new-unit-regions', 'Kota Palu, Sulawesi Tengah (72.71)');
  await page.locator('#new-unit .chips', { hasText: 'Kota Palu' }).waitFor();
  await page.fill('#new-unit-emails', 'kesbangpol@palukota.go.id\nbukan-alamat');
  await page.check('#new-unit input[type=radio] >> nth=1');
  await page.click('#new-unit button[type=submit]');
  await page.locator('#new-unit-emails-err').waitFor({ timeout: 10000 });
  await page.fill('#new-unit-emails', 'kesbangpol@palukota.go.id');
  await page.click('#new-unit button[type=submit]');
  await page.locator('#units tr', { hasText: 'Kesbangpol Kota Palu' }).waitFor({ timeout: 10000 });
  await expectText(page.locator('#units tr', { hasText: 'Kesbangpol Kota Palu' }), ['Kota Palu', '08:00', 'kesbangpol@palukota.go.id'], 'the unit row');
  // changed: notified from siaga up
  await page.locator('#units button', { hasText: 'Ubah Kesbangpol Kota Palu' }).click();
  const edit = page.locator('form[id^="unit-"]');
  await edit.locator('select').first().selectOption('siaga');
  await edit.locator('button[type=submit]').click();
  await page.locator('#units tr', { hasText: 'Siaga+' }).waitFor({ timeout: 10000 });
  await check(page, 'admin-units');

  await page.goto(URL + '/#/admin/silences');
  await page.locator('#new-silence').waitFor({ timeout: 10000 });
  await page.fill('#new-silence-region', 'Kota Palu, Sulawesi Tengah (72.71)');
  await page.fill('#new-silence-reason', 'Operasi gabungan sedang berjalan');
  await page.click('#new-silence button[type=submit]');
  await page.locator('#silences tr', { hasText: 'Operasi gabungan' }).waitFor({ timeout: 10000 });
  await check(page, 'admin-silences');
}

async function trends(page) {
  // an admin sees the open alerts' levels by province
  await page.goto(URL + '/#/trends');
  await page.locator('#breakdown').waitFor({ timeout: 10000 });
  await page.locator('#breakdown tr', { hasText: 'Sulawesi Tengah' }).locator('.badge.lvl-waspada').waitFor({ timeout: 10000 });
  await page.locator('#trend-map svg path').first().waitFor({ timeout: 10000 });
  await check(page, 'trends-admin');
}

async function phone(browser) {
  const ctx = await context(browser, PHONE);
  const page = await ctx.newPage();
  await signIn(page, user, password);
  await page.goto(URL + '/#/rules');
  await page.locator('#rule-files').waitFor({ timeout: 10000 });
  await check(page, 'rules');
  await page.goto(URL + `/#/rules/${file}`);
  await page.locator('#rule-history').waitFor({ timeout: 10000 });
  await page.locator('#rule-history button', { hasText: 'Lihat perubahan v3' }).click();
  await check(page, 'rules-history');
  for (const section of ['accounts', 'units', 'silences']) {
    await page.goto(URL + `/#/admin/${section}`);
    await page.locator(`#${section}`).waitFor({ timeout: 10000 });
    await check(page, `admin-${section}`);
  }
  await page.goto(URL + '/#/trends');
  await page.locator('#trend-map svg path').first().waitFor({ timeout: 10000 });
  await check(page, 'trends-admin');
  await ctx.close();
}

main(async (browser) => {
  const ctx = await context(browser, LAPTOP);
  const page = await ctx.newPage();
  await signIn(page, user, password);
  await workbench(page);
  await accounts(browser, page);
  await unitsAndSilences(page);
  await trends(page);
  await ctx.close();
  await phone(browser);
});
