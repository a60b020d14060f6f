// A field officer's reports (tests/ui.rs runs it): the form with the region
// found by name and by the phone's location, a photo, the receipt; "my
// reports" and the report page with its matched terms marked; a report
// filed offline that waits, survives a reload, and is sent once the
// connection returns; the same pages on a phone.
// env: USER_NAME, USER_PASSWORD (a reporter of Kota Palu), OFFLINE_TEXT, and lib.js's.
const fs = require('node:fs');
const path = require('node:path');
const { URL, LAPTOP, PHONE, context, signIn, check, main, expectText } = require('./lib');

const PNG = fs.readFileSync(path.join(__dirname, '../../web/public/icons/icon-192.png'));
// curly quotes before the term: 3 bytes each in UTF-8, one character in JavaScript
const TEXT = '“Resah” — warga Palu Barat melihat pesta sabu di rumah kos dekat pasar tadi malam.';
const RECEIPT = /^KTN-[0-9A-F]{8}$/;

/** Types `query` into the region picker and picks the option named `name`. */
async function pickRegion(page, query, name) {
  await page.fill('#region-input', '');
  await page.type('#region-input', query);
  const option = page.locator('#region-options [role=option]', { hasText: name }).first();
  await option.waitFor({ timeout: 5000 });
  await option.click();
  await page.locator('#region-chosen', { hasText: name }).waitFor({ timeout: 5000 });
}

main(async (browser) => {
  const ctx = await context(browser, LAPTOP);
  await ctx.grantPermissions(['geolocation'], { origin: URL });
  await ctx.setGeolocation({ latitude: -0.8978, longitude: 119.8511 }); // Palu Barat
  const page = await ctx.newPage();
  await signIn(page, process.env.USER_NAME, process.env.USER_PASSWORD);
  await page.locator('#form-title').waitFor({ timeout: 10000 });
  await check(page, 'report-form');

  // the region by name: "palu" offers the city and its districts named Palu
  await page.fill('textarea[name=text]', TEXT);
  await page.fill('input[name=title]', 'Pesta sabu di Palu Barat');
  await page.type('#region-input', 'palu');
  await page.locator('#region-options [role=option] strong').first().waitFor({ timeout: 10000 });
  const offered = await page.locator('#region-options [role=option] strong').allInnerTexts();
  for (const want of ['Kota Palu', 'Palu Barat', 'Palu Selatan', 'Palu Timur', 'Palu Utara']) {
    if (!offered.includes(want)) throw new Error(`"palu" does not offer ${want}: ${offered}`);
  }
  if (offered[0] !== 'Kota Palu') throw new Error(`the city should come first: ${offered}`);
  await check(page, 'report-region-search');
  // keyboard: down to the second option, Enter
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await page.locator('#region-chosen', { hasText: offered[1] }).waitFor({ timeout: 5000 });

  // and by the phone's location, when the officer asks
  await page.click('.locate button');
  await page.locator('.locate p', { hasText: 'Lokasi Anda dekat Palu Barat, Kota Palu' }).waitFor({ timeout: 10000 });
  await page.locator('#region-chosen', { hasText: 'Palu Barat, Kota Palu, Sulawesi Tengah' }).waitFor({ timeout: 5000 });

  // a photo, then send: the receipt
  await page.setInputFiles('#files', { name: 'foto-pesta.png', mimeType: 'image/png', buffer: PNG });
  await page.locator('.chosen li', { hasText: 'foto-pesta.png' }).waitFor({ timeout: 5000 });
  await check(page, 'report-form-filled');
  await page.click('button.send');
  const number = page.locator('#receipt-number');
  await number.waitFor({ timeout: 15000 });
  const receipt = (await number.innerText()).trim();
  if (!RECEIPT.test(receipt)) throw new Error('not a receipt number: ' + receipt);
  await check(page, 'report-receipt');

  // the report page: terms marked at the right place in non-ASCII text
  await page.click('.receipt a');
  await page.locator('.report-text.full mark').first().waitFor({ timeout: 20000 });
  const marks = await page.locator('.report-text.full mark').allInnerTexts();
  if (!marks.some((m) => m.toLowerCase().includes('sabu'))) throw new Error(`the marks miss the term: ${marks}`);
  for (const m of marks) {
    if (!TEXT.includes(m) || m !== m.trim()) throw new Error(`a mark cuts the text wrongly: "${m}" in ${marks}`);
  }
  await expectText(page.locator('article.report-view'), ['Narkoba', 'Aturan yang terpenuhi', 'Palu Barat', 'Bahasa Indonesia', 'WITA', receipt], 'the report page');
  await page.locator('button.thumb img').waitFor({ timeout: 5000 });
  await page.waitForFunction(() => document.querySelector('button.thumb img')?.naturalWidth > 0);
  await check(page, 'report-view');
  await page.click('button.thumb');
  await page.waitForFunction(() => document.querySelector('dialog.photo[open] img')?.naturalWidth === 192);
  await check(page, 'report-photo');
  await page.keyboard.press('Escape');

  // my reports: classified, with its indicator
  await page.goto(`${URL}/#/reports/mine`);
  const mine = page.locator(`li.listed[data-receipt="${receipt}"]`);
  await mine.waitFor({ timeout: 15000 });
  await expectText(mine, ['Indikator: Narkoba'], 'my reports');
  await check(page, 'my-reports');

  // offline: the shell is kept by the service worker
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.waitForFunction(() => !!navigator.serviceWorker.controller, null, { timeout: 10000 });
  await page.goto(`${URL}/#/reports/new`);
  await page.locator('#form-title').waitFor({ timeout: 10000 });
  await ctx.setOffline(true);
  const OFFLINE = process.env.OFFLINE_TEXT;
  await page.fill('textarea[name=text]', OFFLINE);
  await pickRegion(page, 'palu sel', 'Palu Selatan');
  await page.click('button.send');
  await page.locator('.waiting', { hasText: 'Menunggu koneksi' }).waitFor({ timeout: 10000 });
  await check(page, 'report-offline-waiting');
  await page.click('.waiting a');
  const queued = page.locator('li.queued', { hasText: OFFLINE });
  await queued.waitFor({ timeout: 5000 });
  // still waiting after the app is opened again with no connection
  await page.reload();
  await queued.waitFor({ timeout: 10000 });
  await check(page, 'my-reports-offline');

  // the connection returns: sent once, with its receipt
  await ctx.setOffline(false);
  await queued.waitFor({ state: 'detached', timeout: 20000 });
  const arrived = page.locator('li.sent, li.listed', { hasText: OFFLINE });
  await arrived.waitFor({ timeout: 20000 });
  const sentReceipt = await arrived.getAttribute('data-receipt');
  if (!RECEIPT.test(sentReceipt)) throw new Error('the offline report has no receipt: ' + sentReceipt);
  await page.locator(`li.listed[data-receipt="${sentReceipt}"]`).waitFor({ timeout: 20000 });
  const count = await page.locator('li.sent, li.listed', { hasText: OFFLINE }).count();
  if (count !== 1) throw new Error(`the offline report is listed ${count} times`);
  await check(page, 'my-reports-after-reconnect');
  await ctx.close();

  // the same pages on a phone
  const phone = await context(browser, PHONE);
  const small = await phone.newPage();
  await signIn(small, process.env.USER_NAME, process.env.USER_PASSWORD);
  await small.locator('#form-title').waitFor({ timeout: 10000 });
  await small.type('#region-input', 'palu');
  await small.locator('#region-options [role=option] strong').first().waitFor({ timeout: 10000 });
  await check(small, 'report-form');
  await small.goto(`${URL}/#/reports/mine`);
  await small.locator(`li.listed[data-receipt="${receipt}"]`).waitFor({ timeout: 10000 });
  await check(small, 'my-reports');
  await small.click(`li.listed[data-receipt="${receipt}"] a`);
  await small.locator('.report-text.full mark').first().waitFor({ timeout: 10000 });
  await check(small, 'report-view');
  await phone.close();

  // a phone whose clock runs a day ahead, its system set to English: the
  // server refuses the time, and the officer reads why in the app's
  // Indonesian (the app names its language on every call, over the
  // browser's Accept-Language)
  const ahead = await browser.newContext({
    viewport: PHONE, isMobile: true, hasTouch: true, locale: 'en-US', timezoneId: 'Asia/Makassar',
  });
  await ahead.addInitScript(() => {
    const Real = Date;
    const shift = 24 * 3600 * 1000;
    class Ahead extends Real {
      constructor(...args) {
        super(...(args.length ? args : [Real.now() + shift]));
      }
      static now() {
        return Real.now() + shift;
      }
    }
    globalThis.Date = Ahead;
  });
  const wrong = await ahead.newPage();
  await signIn(wrong, process.env.USER_NAME, process.env.USER_PASSWORD);
  await wrong.locator('#form-title').waitFor({ timeout: 10000 });
  await wrong.fill('textarea[name=text]', 'Warga melapor ada pesta sabu di rumah kos.');
  await pickRegion(wrong, 'palu bar', 'Palu Barat');
  await wrong.click('button.send');
  await expectText(wrong.locator('main'), ['Ditolak server: reported_at:', 'periksa jam perangkat'], 'the refusal');
  await check(wrong, 'report-refused-clock');
  await ahead.close();
});
