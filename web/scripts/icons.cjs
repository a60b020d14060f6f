// Renders public/icons/icon.svg to the PNG icons the manifest names (192 and
// 512 px), with Debian's chromium through playwright-core (as the browser
// tests use them). Run after changing the SVG; the PNGs are committed.
// env: TEST_KENTONGAN_CHROMIUM, TEST_KENTONGAN_PLAYWRIGHT (see tests/services/up)
const fs = require('node:fs');
const path = require('node:path');
const { chromium } = require(process.env.TEST_KENTONGAN_PLAYWRIGHT);

(async () => {
  const dir = path.join(__dirname, '../public/icons');
  const svg = fs.readFileSync(path.join(dir, 'icon.svg'), 'utf8');
  const browser = await chromium.launch({ executablePath: process.env.TEST_KENTONGAN_CHROMIUM, args: ['--headless', '--no-sandbox'] });
  try {
    for (const size of [192, 512]) {
      const page = await browser.newPage({ viewport: { width: size, height: size } });
      await page.setContent(`<style>html,body{margin:0;background:transparent}svg{display:block;width:${size}px;height:${size}px}</style>${svg}`);
      await page.screenshot({ path: path.join(dir, `icon-${size}.png`), omitBackground: true });
      await page.close();
    }
  } finally {
    await browser.close();
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
