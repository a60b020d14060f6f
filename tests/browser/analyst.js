// The analyst's journey (WEB-B): search with names and marked words, facet
// counts in words, a bad query answered in Indonesian with no stale count,
// the CSV export (its content checked), a result opened as its report
// page, and the trends page (chart, table with names, rising regions, map),
// narrowed to a region; the same pages on a phone with no sideways scroll.
// env: KENTONGAN_URL, USER_NAME, USER_PASSWORD, REPORTS (how many match
//      "sabu"), IN_SCOPE (how many lie in the analyst's regions), plus
//      those of lib.js
const fs = require('node:fs');
const lib = require('./lib');
const { URL, LAPTOP, PHONE, context, signIn, main, expectText, expectCount } = lib;

const user = process.env.USER_NAME;
const password = process.env.USER_PASSWORD;
const sabu = Number(process.env.REPORTS);
const inScope = Number(process.env.IN_SCOPE);

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

async function search(page, q) {
  await page.fill('#search-q', q);
  await page.click('form[role=search] button[type=submit]');
  // the answer to this query, not the one already on the page: the page is
  // busy until it comes (a fast answer may have come before this looks)
  await page.locator('[aria-busy=true]').waitFor({ timeout: 2000 }).catch(() => undefined);
}

/** Waits for the search's answer: its count, or its error. */
async function settled(page) {
  await page.locator('#search-total, #search-error').first().waitFor({ timeout: 10000 });
  await page.locator('[aria-busy=true]').waitFor({ state: 'detached', timeout: 10000 });
}

async function laptop(browser) {
  const ctx = await context(browser, LAPTOP);
  const page = await ctx.newPage();
  await signIn(page, user, password);
  // an analyst starts on the search page
  await page.waitForURL(/#\/search/);
  await page.locator('#search-q').waitFor();
  await search(page, 'sabu');
  await settled(page);
  await expectText(page.locator('#search-total'), [`${sabu} laporan ditemukan`], 'the count');
  expect(/#\/search\?q=sabu/.test(page.url()), `the query is not in the URL: ${page.url()}`);
  const hits = page.locator('.hit');
  await expectCount(hits, sabu, 'the results');
  const first = await hits.first().innerText();
  expect(first.includes('Narkoba'), `no indicator name in "${first}"`);
  expect(first.includes('Kota Palu') || first.includes('Palu'), `no region name in "${first}"`);
  expect(!/\b72\.71\b|narkoba\b/.test(first), `a raw code in "${first}"`);
  expect(/WITA/.test(first), `the time is not in the region's zone: "${first}"`);
  const marked = await hits.first().locator('mark').allInnerTexts();
  expect(marked.some((m) => m.toLowerCase() === 'sabu'), `the matched word is not marked: ${marked}`);
  // the facets say names and counts, and narrow the search when clicked
  await expectText(page.locator('.facets'), ['Sulawesi Tengah', `${sabu} laporan`], 'the facets');
  await check(page, 'search');

  // the CSV export of the same search, through the session cookie
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#search-export')]);
  const file = await download.path();
  const csv = fs.readFileSync(file, 'utf8').trim().split('\n');
  expect(csv[0].startsWith('id,received_at,received_at_local,time_zone,region,region_name,indicators'), `the header is "${csv[0]}"`);
  expect(csv.length === sabu + 1, `the file has ${csv.length - 1} rows, not ${sabu}`);
  expect(csv.slice(1).every((row) => row.includes('Kota Palu') && row.includes('WITA') && row.includes('narkoba')), `rows: ${csv.slice(1).join('\n')}`);
  expect(/^kentongan-\d{8}\.csv$/.test(download.suggestedFilename()), `file name ${download.suggestedFilename()}`);

  // a facet narrows the search
  await page.locator('.facets button', { hasText: 'Kota Palu' }).first().click();
  await page.waitForURL(/region=72\.71/);
  await settled(page);

  // a bad query: an Indonesian sentence that says what to fix, and no count
  await search(page, '"pesta sabu');
  await page.locator('#search-error').waitFor({ timeout: 10000 });
  await expectText(page.locator('#search-error'), ['Tanda kutip tidak berpasangan'], 'the error');
  // read once, the error being shown: a stale count must not linger beside it
  expect((await page.locator('#search-total').count()) === 0, 'the stale count is still shown under the error');
  expect((await page.locator('.hit').count()) === 0, 'stale results are still shown under the error');
  await check(page, 'search-bad-query');

  // a result opens its report page
  await search(page, 'sabu');
  await settled(page);
  await expectCount(page.locator('.hit'), sabu, 'the results');
  const href = await page.locator('.hit h2 a').first().getAttribute('href');
  await page.locator('.hit h2 a').first().click();
  await page.waitForURL(new RegExp(href.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '$'));
  await page.locator('#view-title').waitFor({ timeout: 10000 });
  await page.locator('.report-view', { hasText: 'sabu' }).waitFor({ timeout: 10000 });

  // trends: the chart with its axis and legend, the table by regency with names, the map
  await page.goto(URL + '/#/trends');
  await page.locator('#trend-chart canvas').waitFor({ timeout: 10000 });
  await expectText(page.locator('#trend-chart .u-legend'), ['Narkoba'], 'the legend');
  expect((await page.locator('#trend-chart .u-axis').count()) >= 2, 'the chart has no y-axis');
  await page.locator('#breakdown').waitFor();
  await expectText(page.locator('#breakdown'), ['Kota Palu', 'Kabupaten Poso'], 'the table by regency');
  await expectText(page.locator('#breakdown tbody tr', { hasText: 'Kota Palu' }), [String(sabu)], 'Kota Palu\'s row');
  await page.locator('#rising').waitFor();
  await expectText(page.locator('#rising'), ['Kota Palu', 'Narkoba'], 'the rising regions');
  await page.locator('#trend-map svg path').first().waitFor({ timeout: 10000 });
  expect((await page.locator('#trend-map svg path').count()) >= 10, 'the map has too few regions');
  await check(page, 'trends');
  // choosing a region narrows the page: Kota Palu's districts
  await page.locator('#breakdown tbody th button', { hasText: 'Kota Palu' }).click();
  await page.waitForURL(/#\/trends\?region=72\.71/);
  await page.locator('#breakdown', { hasText: 'Palu Barat' }).waitFor({ timeout: 10000 });
  await page.locator('#trend-chart canvas').waitFor({ timeout: 10000 });
  await check(page, 'trends-kota-palu');
  // English as an option: the same page, in English words
  await page.locator('header.top button', { hasText: 'English' }).click();
  await page.locator('h1', { hasText: 'Trends and map' }).waitFor();
  await expectText(page.locator('#breakdown thead'), ['Drugs', 'Region'], 'the table\'s header in English');
  await check(page, 'trends-english');
  await ctx.close();
}

async function phone(browser) {
  const ctx = await context(browser, PHONE);
  const page = await ctx.newPage();
  await signIn(page, user, password);
  await page.goto(URL + '/#/search?q=sabu');
  await settled(page);
  await expectText(page.locator('#search-total'), [`${sabu} laporan ditemukan`], 'the phone\'s count');
  await expectCount(page.locator('.hit'), sabu, 'the phone\'s results');
  await check(page, 'search');
  // every report in scope, newest first, on pages of 20
  await page.click('form[role=search] button.secondary');
  await page.locator('#search-total', { hasText: `${inScope} laporan ditemukan` }).waitFor({ timeout: 10000 });
  await expectCount(page.locator('.hit'), 20, 'the first page');
  await page.locator('.pager', { hasText: `Halaman 1 dari ${Math.ceil(inScope / 20)}` }).waitFor();
  await page.locator('.pager button', { hasText: 'Berikutnya' }).click();
  await page.waitForURL(/page=2/);
  await page.locator('.pager', { hasText: 'Halaman 2' }).waitFor({ timeout: 10000 });
  await page.waitForFunction((n) => document.querySelectorAll('.hit').length === n, inScope - 20, { timeout: 10000 });
  await check(page, 'search-page-2');
  await search(page, 'sabu AND (pasar');
  await page.locator('#search-error', { hasText: 'Tanda kurung' }).waitFor({ timeout: 10000 });
  await check(page, 'search-bad-query');
  await page.goto(URL + '/#/trends');
  await page.locator('#trend-chart canvas').waitFor({ timeout: 10000 });
  await page.locator('#breakdown').waitFor();
  await page.locator('#trend-map svg path').first().waitFor({ timeout: 10000 });
  await check(page, 'trends');
  await ctx.close();
}

main(async (browser) => {
  await laptop(browser);
  await phone(browser);
});
