// Time until the web app's first screen is usable, under Chromium's network
// emulation, printed as a table (bench/web runs it against a live node).
// "Usable": the sign-in form can be typed into (signed out), or the board
// shows its first alert card (a signed-in operator).
// env: KENTONGAN_URL, USER_NAME, USER_PASSWORD, RUNS,
//      TEST_KENTONGAN_CHROMIUM, TEST_KENTONGAN_PLAYWRIGHT
const { chromium } = require(process.env.TEST_KENTONGAN_PLAYWRIGHT);

const URL_ = process.env.KENTONGAN_URL;
const RUNS = Number(process.env.RUNS || 5);
const kbit = (n) => (n * 1000) / 8; // bytes a second
const PROFILES = [
  { name: 'no throttling', latency: 0, down: -1, up: -1 },
  // Lighthouse's mobile profile, "slow 4G / regular 3G": 150 ms RTT, 1.6 Mbit/s
  { name: '3G (150 ms, 1.6 Mbit/s)', latency: 150, down: kbit(1600), up: kbit(750) },
  // Chromium DevTools' "Fast 3G" preset
  { name: 'DevTools Fast 3G (562 ms, 1.44 Mbit/s)', latency: 562.5, down: kbit(1440), up: kbit(675) },
];

async function throttled(context, page, p) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false, latency: p.latency, downloadThroughput: p.down, uploadThroughput: p.up,
  });
  let bytes = 0;
  cdp.on('Network.loadingFinished', (e) => { bytes += e.encodedDataLength; });
  return () => bytes;
}

async function measure(browser, p, scenario) {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
  try {
    if (scenario === 'operator, first visit') {
      // signed in (the session cookie) but nothing of the app in the browser yet
      await context.request.post(URL_ + '/api/v1/session', {
        data: { name: process.env.USER_NAME, password: process.env.USER_PASSWORD },
      });
    } else if (scenario === 'operator, repeat visit') {
      // signed in through the page without throttling: the app and its
      // service worker are in the browser, as for an officer coming back
      const page = await context.newPage();
      await page.goto(URL_ + '/');
      await page.fill('#name', process.env.USER_NAME);
      await page.fill('#password', process.env.USER_PASSWORD);
      await page.click('#login button[type=submit]');
      await page.locator('header.top').waitFor();
      await page.goto(URL_ + '/#/board');
      await page.locator('main .card.alert').first().waitFor();
      await page.evaluate(() => navigator.serviceWorker.ready);
      await page.close();
    }
    const page = await context.newPage();
    const bytes = await throttled(context, page, p);
    const start = Date.now();
    await page.goto(URL_ + (scenario === 'signed out' ? '/' : '/#/board'), { waitUntil: 'commit' });
    if (scenario === 'signed out') await page.locator('#login input#name').waitFor({ state: 'visible' });
    else await page.locator('header.top + main .card.alert').first().waitFor({ state: 'visible' });
    return { ms: Date.now() - start, bytes: bytes() };
  } finally {
    await context.close();
  }
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.TEST_KENTONGAN_CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`| network | scenario | median ms (of ${RUNS}) | max ms | bytes transferred |`);
  console.log('|---|---|---|---|---|');
  try {
    for (const p of PROFILES) {
      for (const scenario of ['signed out', 'operator, first visit', 'operator, repeat visit']) {
        const runs = [];
        for (let i = 0; i < RUNS; i++) runs.push(await measure(browser, p, scenario));
        const ms = runs.map((r) => r.ms);
        console.log(`| ${p.name} | ${scenario} | ${median(ms)} | ${Math.max(...ms)} | ${median(runs.map((r) => r.bytes))} |`);
      }
    }
  } finally {
    await browser.close();
  }
})().catch((e) => { console.error(e); process.exit(1); });
