// After `vite build`: writes a brotli and a gzip copy of every text file in
// dist/ (the server picks one by Accept-Encoding), and checks the budget of
// issue 15: everything but the map data under 300 KB compressed.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { brotliCompressSync, gzipSync, constants } from 'node:zlib';

const dist = new URL('../dist/', import.meta.url).pathname;
const BUDGET = 300 * 1024;
const text = /\.(js|css|html|json|svg|webmanifest|txt)$/;

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* files(path);
    else yield path;
  }
}

let total = 0;
const rows = [];
for (const path of [...files(dist)].sort()) {
  if (!text.test(path)) {
    const size = statSync(path).size;
    if (!relative(dist, path).startsWith('map/')) total += size;
    rows.push([relative(dist, path), size, size]);
    continue;
  }
  const raw = readFileSync(path);
  const br = brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } });
  const gz = gzipSync(raw, { level: 9 });
  if (br.length < raw.length) writeFileSync(path + '.br', br);
  if (gz.length < raw.length) writeFileSync(path + '.gz', gz);
  const sent = Math.min(raw.length, br.length);
  if (!relative(dist, path).startsWith('map/')) total += sent;
  rows.push([relative(dist, path), raw.length, sent]);
}
for (const [name, raw, sent] of rows) console.log(`${name.padEnd(48)} ${String(raw).padStart(9)} ${String(sent).padStart(9)}`);
console.log(`total compressed without map data: ${(total / 1024).toFixed(1)} KB (budget ${BUDGET / 1024} KB)`);
if (total > BUDGET) {
  console.error('over budget: the app must stay under 300 KB compressed without the map data');
  process.exit(1);
}
