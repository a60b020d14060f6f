// Periodic reports (tests/ui.rs runs it): a regency operator files today's
// LAPSITDA on a phone, offline first (it waits, then goes out once with its
// receipt, on time); a province operator sees it in compliance, drafts the
// province's LAPSITDA from its regencies, edits and files it, and sees the
// province filed; a national admin's template change refused at the field
// the API names, then saved. The stage board and the briefs where they exist.
// env: REGENCY_USER, PROVINCE_USER, ADMIN_USER, PASSWORD, INCIDENT, SMS_REPORT
// (a report that came by SMS to Kota Palu), and lib.js's.
const { URL, LAPTOP, PHONE, context, signIn, check, main, text, expectText } = require('./lib');

const RECEIPT = /^KTN-[0-9A-F]{8}$/;
// the smallest PDF the intake takes as one (its kind is read from its bytes)
const PDF = Buffer.from('%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n');
const PASSWORD = process.env.PASSWORD;
const INCIDENT = process.env.INCIDENT;

main(async (browser) => {
  // ---- a regency operator on a phone, offline first ----
  const phone = await context(browser, PHONE);
  const page = await phone.newPage();
  await signIn(page, process.env.REGENCY_USER, PASSWORD);
  await page.click('header.top nav a[href="#/duties"]');
  await page.locator('li[data-template="lapsitda-harian"] a.button').click();
  await page.locator('#form-title').waitFor({ timeout: 10000 });
  await expectText(page.locator('#filing-region'), ['Kota Palu'], 'the region');
  await expectText(page.locator('#deadline'), ['Batas waktu', '24.00 WITA'], 'the deadline');
  await check(page, 'duty-form');

  // sending an empty form: told at the first field, which gets the focus
  await page.click('button.send');
  await page.locator('#field-situasi_narkoba-err').waitFor({ timeout: 5000 });
  if ((await page.evaluate(() => document.activeElement?.id)) !== 'field-situasi_narkoba') {
    throw new Error('the first missing answer is not focused');
  }
  await check(page, 'duty-form-missing');

  // four indicators aman, social conflict with an incident, by keyboard where it counts
  for (const f of ['narkoba', 'kerukunan_beragama', 'ideologi', 'demokrasi']) await page.check(`#field-situasi_${f}`);
  await page.check('#field-situasi_konflik_sosial-athg');
  await page.selectOption('#field-situasi_konflik_sosial-cat-0', 'gangguan');
  await page.fill('#field-situasi_konflik_sosial-text-0', INCIDENT);
  await page.fill('#field-upaya', 'Koordinasi dengan Polresta dan tokoh masyarakat');
  await check(page, 'duty-form-filled');

  // no connection: it waits on the phone
  await page.evaluate(() => navigator.serviceWorker?.ready);
  await phone.setOffline(true);
  await page.click('button.send');
  await page.locator('.waiting', { hasText: 'Menunggu koneksi' }).waitFor({ timeout: 10000 });
  await check(page, 'duty-offline-waiting');
  // the connection returns: sent, and the receipt replaces the waiting note
  await phone.setOffline(false);
  const number = page.locator('#receipt-number');
  await number.waitFor({ timeout: 40000 });
  const receipt = (await number.innerText()).trim();
  if (!RECEIPT.test(receipt)) throw new Error('not a receipt number: ' + receipt);
  await expectText(page.locator('#receipt-status'), ['Kota Palu', 'tepat waktu'], 'the receipt');
  await check(page, 'duty-receipt');

  // the NPHD of Kota Palu signed, with its document: only that stage's status is asked
  await page.goto(`${URL}/#/duties/tahapan-pemilu`);
  await page.locator('#period').selectOption('nphd');
  if (await page.locator('#field-status_hibah').count()) throw new Error('another stage\'s status is asked');
  await page.selectOption('#field-status_nphd', 'ditandatangani');
  await page.fill('#field-tanggal_nphd', '2026-11-27');
  await page.setInputFiles('#field-dokumen', { name: 'nphd-kota-palu.pdf', mimeType: 'application/pdf', buffer: PDF });
  await check(page, 'stage-form');
  await page.click('button.send');
  await page.locator('#receipt-number').waitFor({ timeout: 15000 });
  await expectText(page.locator('#receipt-status'), ['Penandatanganan NPHD', 'tepat waktu'], 'the stage receipt');

  // a resident reported by SMS: the operator answers over the same channel
  await page.goto(`${URL}/#/reports/${process.env.SMS_REPORT}`);
  await page.locator('#reply-text').waitFor({ timeout: 20000 });
  await page.fill('#reply-text', 'Petugas sudah di lokasi, terima kasih.');
  await page.click('.reply-box button[type=submit]');
  await page.locator('#replies li[data-state="sent"]', { hasText: 'Petugas sudah di lokasi' }).waitFor({ timeout: 20000 });
  await expectText(page.locator('#replies'), ['kesbang-palu', 'terkirim'], 'the replies');
  await check(page, 'reply');
  await phone.close();

  // ---- the province operator: compliance, the draft from regencies, filing ----
  const laptop = await context(browser, LAPTOP);
  const prov = await laptop.newPage();
  await signIn(prov, process.env.PROVINCE_USER, PASSWORD);
  await prov.click('header.top nav a[href="#/compliance"]');
  const palu = prov.locator('#c-rows tr[data-region="72.71"][data-status="filed"]');
  await palu.waitFor({ timeout: 20000 });
  await expectText(palu, ['Kota Palu', 'Tepat waktu', 'WITA'], 'Kota Palu\'s row');
  await expectText(prov.locator('#c-totals tr[data-region="72"][data-filers="regency"]'), ['Sulawesi Tengah', '13', '1'], 'the province\'s regencies');
  await prov.locator('#c-bars li').first().waitFor({ timeout: 5000 });
  await check(prov, 'compliance');
  // who has not filed yet, at a glance
  await prov.selectOption('#c-only', 'missing');
  if (await prov.locator('#c-rows tr[data-region="72.71"]').count()) throw new Error('Kota Palu is listed as not filed');
  await prov.locator('#c-rows tr[data-region="72.02"]').waitFor({ timeout: 5000 });

  await prov.click('header.top nav a[href="#/duties"]');
  await prov.locator('li[data-template="lapsitda-harian"] a.button').click();
  await expectText(prov.locator('#filing-region'), ['Sulawesi Tengah'], 'the province form');
  // the regency's filing reaches the archive shortly after it is taken: ask again until it is in
  const drafted = prov.locator('#field-situasi_konflik_sosial-text-0');
  for (let i = 0; i < 30 && !(await drafted.count()); i++) {
    await prov.click('#draft');
    await prov.locator('#draft-result', { hasText: /\S/ }).waitFor({ timeout: 10000 });
    if (!(await drafted.count())) await prov.waitForTimeout(1000);
  }
  const value = await drafted.inputValue();
  if (!value.includes('Kota Palu') || !value.includes(INCIDENT)) throw new Error('the draft misses Kota Palu\'s incident: ' + value);
  await expectText(prov.locator('#draft-result'), ['Draf disusun dari 1', 'Belum melapor'], 'the draft note');
  if (!(await prov.isChecked('#field-situasi_narkoba'))) throw new Error('the draft does not carry aman for drugs');
  await check(prov, 'duty-draft');
  await prov.fill('#field-rekomendasi', 'Provinsi memantau Kota Palu');
  await prov.click('button.send');
  await prov.locator('#receipt-number').waitFor({ timeout: 15000 });
  await expectText(prov.locator('#receipt-status'), ['Sulawesi Tengah', 'tepat waktu'], 'the province receipt');
  await prov.click('.result a[href^="#/compliance"]');
  await prov.locator('#c-rows tr[data-region="72"][data-status="filed"]').waitFor({ timeout: 20000 });
  await check(prov, 'compliance-after');

  // the filing is a report; it came by the web, so there is nobody to reply to by a channel
  await prov.click('#c-rows tr[data-region="72.71"] a');
  await prov.locator('#reply-title').waitFor({ timeout: 20000 });
  await expectText(prov.locator('.report-view'), ['tidak ada pelapor yang dapat dibalas'], 'the reply box');

  // the stage board: who has not signed the NPHD yet, Kota Palu's document and history
  await prov.click('header.top nav a[href="#/stages"]');
  const cell = prov.locator('#s-board tr[data-region="72.71"] td[data-stage="nphd"][data-done="true"]');
  await cell.waitFor({ timeout: 20000 });
  await expectText(cell, ['ditandatangani', 'kesbang-palu', 'nphd-kota-palu.pdf'], 'Kota Palu\'s NPHD');
  const notYet = await text(prov.locator('li[data-stage="nphd"] .who-not'));
  if (notYet.includes('Kota Palu') || !notYet.includes('Kabupaten Poso')) throw new Error('who has not signed the NPHD: ' + notYet);
  const doc = await prov.evaluate(async (href) => {
    const r = await fetch(href);
    return [r.status, r.headers.get('content-type'), (await r.text()).slice(0, 5)];
  }, await cell.locator('a').first().getAttribute('href'));
  if (doc[0] !== 200 || doc[2] !== '%PDF-') throw new Error('the document does not download: ' + doc);
  await check(prov, 'stage-board');
  await prov.click('#s-board tr[data-region="72.71"] th button');
  await prov.locator('#s-history .changes li').first().waitFor({ timeout: 10000 });
  await expectText(prov.locator('#s-history'), ['Penandatanganan NPHD', 'ditandatangani', 'kesbang-palu'], 'the history');
  await check(prov, 'stage-history');

  // the morning brief of the province, in the app and as a PDF
  await prov.click('header.top nav a[href="#/briefs"]');
  await prov.locator('#brief .brief-body h2').first().waitFor({ timeout: 20000 });
  await expectText(prov.locator('#brief'), ['Sulawesi Tengah', 'Indikator', 'LAPSITDA', 'Kabupaten Poso'], 'the brief');
  const pdf = await prov.evaluate(async (href) => {
    const r = await fetch(href);
    return [r.status, r.headers.get('content-type')];
  }, await prov.locator('#brief-pdf').getAttribute('href'));
  if (pdf[0] !== 200 || pdf[1] !== 'application/pdf') throw new Error('the PDF: ' + pdf);
  await check(prov, 'brief');
  await laptop.close();

  // the same compliance on a phone: no sideways scroll
  const small = await (await context(browser, PHONE)).newPage();
  await signIn(small, process.env.PROVINCE_USER, PASSWORD);
  await small.goto(`${URL}/#/compliance?template=lapsitda-harian`);
  await small.locator('#c-rows tr[data-region="72"][data-status="filed"]').waitFor({ timeout: 20000 });
  await check(small, 'compliance');
  // and in English
  await small.click('header.top .who button[lang="en"]');
  await expectText(small.locator('#c-rows tr[data-region="72"]'), ['Sulawesi Tengah', 'On time'], 'the English compliance');
  await check(small, 'compliance-en');
  await small.click('header.top .who button[lang="id"]');
  await small.goto(`${URL}/#/stages`);
  await small.locator('#s-board tr[data-region="72.71"]').waitFor({ timeout: 20000 });
  await check(small, 'stage-board');
  await small.goto(`${URL}/#/briefs`);
  await small.locator('#brief .brief-body h2').first().waitFor({ timeout: 20000 });
  await check(small, 'brief');
  await small.context().close();

  // ---- a national admin changes the template: the API's error at its field ----
  const adminCtx = await context(browser, LAPTOP);
  const admin = await adminCtx.newPage();
  await signIn(admin, process.env.ADMIN_USER, PASSWORD);
  await admin.goto(`${URL}/#/duties/lapsitda-harian/edit`);
  await admin.locator('#t-name').waitFor({ timeout: 10000 });
  await check(admin, 'template-editor');
  await admin.click('#add-field');
  const n = (await admin.locator('.field-list > li').count()) - 1;
  await admin.fill(`#t-fields-${n}-id`, 'Catatan Lain');
  await admin.fill(`#t-fields-${n}-label`, 'Catatan lain');
  await admin.click('.template-editor button[type=submit]');
  const bad = admin.locator(`#t-fields-${n}-id-err`);
  await bad.waitFor({ timeout: 10000 });
  await expectText(bad, ['lowercase'], 'the field error');
  if ((await admin.evaluate(() => document.activeElement?.id)) !== `t-fields-${n}-id`) throw new Error('the wrong part is not focused');
  await check(admin, 'template-editor-error');
  await admin.fill(`#t-fields-${n}-id`, 'catatan_lain');
  await admin.fill('#t-note', 'tambah catatan lain');
  await admin.click('.template-editor button[type=submit]');
  await admin.locator('#editor-saved', { hasText: 'versi 2' }).waitFor({ timeout: 10000 });
  await adminCtx.close();
});
