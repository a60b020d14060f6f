// The operator's board (tests/ui.rs runs it): opened from an email's link,
// an awas arriving live over the alert stream after a report with a photo
// is posted, its reports and the photo, acknowledging by keyboard, a
// follow-up note, a second district's clash gathered by a city alert (the
// chain); the same board on a phone.
// env: ALERT_ID (an escalated waspada in Kota Palu), USER_NAME, USER_PASSWORD,
//      TOKEN (the bootstrap token, to post the report), and lib.js's.
const fs = require('node:fs');
const path = require('node:path');
const { URL, LAPTOP, PHONE, context, check, main, expectText, expectCount } = require('./lib');

const FIRST = process.env.ALERT_ID;
const PNG = fs.readFileSync(path.join(__dirname, '../../web/public/icons/icon-192.png'));

async function signInAt(page, hash) {
  await page.goto(`${URL}/${hash}`);
  await page.fill('#name', process.env.USER_NAME);
  await page.fill('#password', process.env.USER_PASSWORD);
  await page.click('#login button[type=submit]');
  await page.locator('header.top').waitFor({ timeout: 10000 });
}

/** Posts a report with a photo as a reporter's phone would (multipart). */
async function postReport(text) {
  const form = new FormData();
  form.append('report', JSON.stringify({ text, region: '72.71' }));
  form.append('file', new Blob([PNG], { type: 'image/png' }), 'foto-bentrok.png');
  const r = await fetch(`${URL}/api/v1/reports`, {
    method: 'POST',
    body: form,
    headers: { Authorization: `Bearer ${process.env.TOKEN}`, 'Idempotency-Key': `board-${Date.now()}` },
  });
  if (r.status !== 202) throw new Error(`posting the report: ${r.status} ${await r.text()}`);
}

main(async (browser) => {
  const ctx = await context(browser, LAPTOP);
  const page = await ctx.newPage();

  // the email's link opens the board with that alert focused
  await signInAt(page, `#/alerts/${FIRST}`);
  const first = page.locator(`#alert-${FIRST}`);
  await first.waitFor({ timeout: 10000 });
  await page.waitForFunction((id) => document.activeElement?.id === `alert-${id}`, FIRST, { timeout: 5000 });
  await page.locator('.live-live').waitFor({ timeout: 10000 });
  const card = await expectText(first, ['Waspada', 'Narkoba', 'Kota Palu', 'WITA', 'Terbuka', 'Email terkirim ke Kesbangpol Kota Palu',
    'Diteruskan ke Kesbangpol Sulawesi Tengah', 'karena belum diterima oleh Kesbangpol Kota Palu'], 'the linked alert');
  if (card.includes('not configured')) throw new Error(`a card shows the raw channel error:\n${card}`);
  const notes = page.locator('.channels');
  await expectCount(notes, 1, 'the notes that SMS is not set up');
  await expectText(notes, ['SMS belum dikonfigurasi'], 'the board\'s note on SMS');
  await check(page, 'board-linked');

  // a report with a photo raises an awas that arrives live: banner, chime, card
  await postReport('Bentrok warga di Palu Barat, dua rumah dibakar');
  const banner = page.locator('.awas-banner[role=alert]');
  await banner.waitFor({ timeout: 15000 });
  await expectText(banner, ['Peringatan AWAS baru: Konflik sosial di Palu Barat'], 'the banner');
  const href = await banner.locator('a').getAttribute('href');
  const live = href.replace('#/alerts/', '');
  const chimes = await page.evaluate(() => window.kentonganChimes ?? 0);
  if (chimes < 1) throw new Error('no sound for the new awas');
  const liveCard = page.locator(`#alert-${live}`);
  await liveCard.waitFor({ timeout: 5000 });
  // highest level first
  const order = await page.locator('article.alert').evaluateAll((cards) => cards.map((c) => c.id));
  if (order[0] !== `alert-${live}`) throw new Error(`the awas is not first: ${order}`);
  await check(page, 'board-live-awas');

  // its reports, and the photo full size
  await liveCard.locator('button.show-reports').click();
  await liveCard.locator('.report-text', { hasText: 'Bentrok warga di Palu Barat' }).waitFor({ timeout: 10000 });
  const thumb = liveCard.locator('button.thumb img');
  await thumb.waitFor({ timeout: 5000 });
  await page.waitForFunction((id) => document.querySelector(`#alert-${id} button.thumb img`)?.naturalWidth > 0, live);
  await liveCard.locator('button.thumb').click();
  const dialog = page.locator('dialog.photo[open]');
  await dialog.waitFor({ timeout: 5000 });
  await page.waitForFunction(() => document.querySelector('dialog.photo[open] img')?.naturalWidth === 192);
  await check(page, 'board-photo');
  await page.keyboard.press('Escape');
  await page.locator('dialog.photo[open]').waitFor({ state: 'detached', timeout: 5000 });

  // acknowledge by keyboard alone: Tab from the card to its button, Enter
  await liveCard.focus();
  let found = false;
  for (let i = 0; i < 40 && !found; i++) {
    await page.keyboard.press('Tab');
    found = await page.evaluate((id) => document.activeElement?.matches(`#alert-${id} button.ack`), live);
  }
  if (!found) throw new Error('Tab never reached the acknowledge button');
  const ring = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  if (ring === 'none') throw new Error('the focused button shows no focus ring');
  await check(page, 'board-keyboard-focus');
  await page.keyboard.press('Enter');
  await liveCard.locator('.state', { hasText: 'Diterima' }).waitFor({ timeout: 5000 });

  // a follow-up note on the first alert
  await first.locator('textarea').fill('Tim gabungan menuju lokasi');
  await first.locator('button.progress').click();
  await first.locator('.state', { hasText: 'Ditindaklanjuti' }).waitFor({ timeout: 5000 });
  await expectText(first.locator('.steps'), ['Tim gabungan menuju lokasi', 'Tindak lanjut oleh piket-palu'], 'the steps');
  await check(page, 'board-after');

  // silence the live alert for a day: it stays on the board, marked
  await liveCard.locator('button.silence').click();
  await liveCard.locator('select[name=hours]').selectOption('24');
  await liveCard.locator('input[name=reason]').fill('Operasi gabungan sedang berjalan');
  await liveCard.locator('.silence-form button[type=submit]').click();
  await liveCard.locator('.silence-mark', { hasText: 'Dibungkam sampai' }).waitFor({ timeout: 10000 });
  await expectText(liveCard.locator('.silence-mark'), ['Operasi gabungan sedang berjalan'], 'the silence');
  await check(page, 'board-silenced');

  // a clash in a second district of the city: the city as a whole crosses
  // its own threshold, and its one alert gathers the two districts' alerts
  await postReport('Bentrok warga di Palu Timur, satu rumah dibakar');
  const city = page.locator('article.alert', { hasText: 'Menghimpun peringatan di bawahnya' });
  await city.waitFor({ timeout: 15000 });
  await expectText(city, ['Awas', 'Konflik sosial', 'Kota Palu', 'Palu Barat (Diterima)', 'Palu Timur (Terbuka)'],
    'the city alert and the district alerts it gathers');
  await check(page, 'board-chain');
  // and each district's alert says which alert it is part of, after a reload too
  await page.reload();
  await liveCard.waitFor({ timeout: 10000 });
  await expectText(liveCard.locator('.chain'), ['Bagian dari peringatan', 'Awas', 'Kota Palu'], 'the district alert');

  // resolve the first alert: the linked alert stays shown, as resolved
  await first.locator('button.resolve').click();
  await first.locator('.state', { hasText: 'Selesai' }).waitFor({ timeout: 5000 });
  await first.locator('.note', { hasText: 'sudah selesai' }).waitFor({ timeout: 5000 });
  await ctx.close();

  // the same board on a phone
  const phone = await context(browser, PHONE);
  const small = await phone.newPage();
  await signInAt(small, '#/board');
  await small.locator(`#alert-${live}`).waitFor({ timeout: 10000 });
  await small.locator('.live-live').waitFor({ timeout: 10000 });
  await check(small, 'board');
  await small.locator(`#alert-${live} button.show-reports`).click();
  await small.locator(`#alert-${live} button.thumb img`).waitFor({ timeout: 10000 });
  await check(small, 'board-reports');
  // and in English
  await small.click('header.top button:has-text("English")');
  await small.locator('h1', { hasText: 'Monitoring board' }).waitFor({ timeout: 5000 });
  await expectText(small.locator(`#alert-${live}`), ['Social conflict', 'Palu Barat', 'Acknowledged by piket-palu', 'Silenced until'], 'the English board');
  await check(small, 'board-en');
  await phone.close();
});
