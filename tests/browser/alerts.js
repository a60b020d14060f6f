// Drives the web UI in Debian's chromium (playwright-core): signs in from an
// email's alert link, sees the chart of the last 30 days, acknowledges the
// alert, and adds a follow-up note.
// env: KENTONGAN_URL, ALERT_ID, USER_NAME, USER_PASSWORD,
//      TEST_KENTONGAN_CHROMIUM, TEST_KENTONGAN_PLAYWRIGHT
const { chromium } = require(process.env.TEST_KENTONGAN_PLAYWRIGHT);

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.TEST_KENTONGAN_CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--no-first-run'],
  });
  try {
    const page = await browser.newPage();
    const id = process.env.ALERT_ID;
    await page.goto(process.env.KENTONGAN_URL + '/#/alerts/' + id);
    await page.fill('#name', process.env.USER_NAME);
    await page.fill('#password', process.env.USER_PASSWORD);
    await page.click('#login button');
    // the chart: one bar for today's report, the legend, totals by province
    await page.locator('#chart rect').first().waitFor({ timeout: 10000 });
    const bars = await page.locator('#chart rect').count();
    const legend = await page.locator('#legend').innerText();
    const totals = await page.locator('#totals').innerText();
    if (bars !== 1 || !legend.includes('Narkoba (1)') || !totals.includes('Sulawesi Tengah (72)')) {
      throw new Error(`the chart is wrong: ${bars} bars, legend "${legend}", totals "${totals}"`);
    }
    const item = page.locator('#alert-' + id);
    await item.waitFor({ timeout: 10000 });
    if (!(await item.evaluate((e) => e.classList.contains('focus')))) throw new Error('the linked alert is not shown first');
    await item.locator('.state', { hasText: 'Terbuka' }).waitFor({ timeout: 5000 });
    await item.locator('button.ack').click();
    await page.locator('#alert-' + id + ' .state', { hasText: 'Diterima' }).waitFor({ timeout: 5000 });
    await page.locator('#alert-' + id + ' textarea').fill('Tim gabungan menuju lokasi');
    await page.locator('#alert-' + id + ' button.progress').click();
    await page.locator('#alert-' + id + ' .state', { hasText: 'Ditindaklanjuti' }).waitFor({ timeout: 5000 });
    const steps = await page.locator('#alert-' + id + ' .steps').innerText();
    if (!steps.includes('Tim gabungan menuju lokasi')) throw new Error('the note is not shown: ' + steps);
    console.log('ok');
  } finally {
    await browser.close();
  }
})().catch((e) => { console.error(e); process.exit(1); });
