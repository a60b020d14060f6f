// Shared by the browser tests (tests/ui.rs runs each script with node):
// Debian's chromium through playwright-core, screenshots saved as test
// artifacts, axe-core's accessibility check, and the no-horizontal-scroll
// check for phones.
// env: KENTONGAN_URL, TEST_KENTONGAN_CHROMIUM, TEST_KENTONGAN_PLAYWRIGHT,
//      KENTONGAN_ARTIFACTS (the screenshot folder), plus each script's own.
const fs = require('node:fs');
const path = require('node:path');
const { chromium } = require(process.env.TEST_KENTONGAN_PLAYWRIGHT);

const AXE = fs.readFileSync(path.join(__dirname, '../../web/node_modules/axe-core/axe.min.js'), 'utf8');
const URL_ = process.env.KENTONGAN_URL;
const ARTIFACTS = process.env.KENTONGAN_ARTIFACTS;

const LAPTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

async function launch() {
  return chromium.launch({
    executablePath: process.env.TEST_KENTONGAN_CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--no-first-run', '--autoplay-policy=no-user-gesture-required'],
  });
}

/** A fresh context (its own cookies and storage) at a laptop's or a phone's size. */
async function context(browser, viewport = LAPTOP) {
  const phone = viewport.width < 600;
  return browser.newContext({ viewport, isMobile: phone, hasTouch: phone, locale: 'id-ID', timezoneId: 'Asia/Makassar' });
}

async function signIn(page, name, password) {
  await page.goto(URL_ + '/');
  await page.fill('#name', name);
  await page.fill('#password', password);
  await page.click('#login button[type=submit]');
  await page.locator('header.top').waitFor({ timeout: 10000 });
}

/** Saves a full-page screenshot as `<name>-<width>.png` in the artifacts folder. */
async function shot(page, name) {
  if (!ARTIFACTS) return;
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const width = page.viewportSize().width;
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}-${width}.png`), fullPage: true });
}

/** Runs axe-core on the page; throws on any serious or critical violation. */
async function axe(page, name) {
  // evaluated through the DevTools protocol, so the page's CSP does not block it
  await page.evaluate(AXE);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (bad.length) {
    const text = bad.map((v) => `${v.id} (${v.impact}): ${v.help}\n  ` + v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('\n  ')).join('\n');
    throw new Error(`accessibility violations on ${name}:\n${text}`);
  }
}

/** Throws when the page is wider than its viewport (a phone would scroll
 * sideways). Compared with the viewport's set width, not `innerWidth`: with
 * `isMobile`, Chromium zooms out to fit a wide page and `innerWidth` grows. */
async function noSideScroll(page, name) {
  const width = page.viewportSize().width;
  const scroll = await page.evaluate(() => document.documentElement.scrollWidth);
  if (scroll > width + 1) throw new Error(`${name} is ${scroll}px wide on a ${width}px screen`);
}

/** Screenshot, accessibility and (on a phone) width, for one page state. */
async function check(page, name) {
  await shot(page, name);
  await axe(page, name);
  await noSideScroll(page, name);
  // index.html's loading line must be gone once the app has rendered
  if (await page.getByText('Memuat Kentongan').count()) throw new Error(`${name}: the loading placeholder is still shown`);
}

/** A locator's text, its white space folded. */
const text = async (locator) => (await locator.innerText()).replace(/\s+/g, ' ');

/** Waits up to 10 s until `locator`'s text holds every one of `want`: a page
 * may still be loading or redrawing what it names when it is first read. */
async function expectText(locator, want, what) {
  const until = Date.now() + 10000;
  for (;;) {
    const got = await text(locator);
    const missing = want.find((w) => !got.includes(w));
    if (missing === undefined) return got;
    if (Date.now() > until) throw new Error(`${what} does not say "${missing}":\n${got}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits up to 10 s until `locator` matches exactly `n` elements. */
async function expectCount(locator, n, what) {
  const until = Date.now() + 10000;
  for (;;) {
    const got = await locator.count();
    if (got === n) return;
    if (Date.now() > until) throw new Error(`${what}: ${got} shown, not ${n}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits up to 10 s until `read()` gives a value `ok` takes; returns it. */
async function eventually(read, ok, what) {
  const until = Date.now() + 10000;
  for (;;) {
    const got = await read();
    if (ok(got)) return got;
    if (Date.now() > until) throw new Error(`${what}: ${got}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs `body` and exits the process with its outcome. */
function main(body) {
  (async () => {
    const browser = await launch();
    try {
      await body(browser);
      console.log('ok');
    } finally {
      await browser.close();
    }
  })().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}

module.exports = {
  URL: URL_, LAPTOP, PHONE, launch, context, signIn, shot, axe, noSideScroll, check, main, text, expectText, expectCount, eventually,
};
