#!/usr/bin/env node
// Checks the map files of web/public/map/ against model/data/regions/:
//
// - each code of provinces.csv, regencies.csv and districts.csv has exactly
//   one region, in the file the app asks for (`72` in provinces.json, `72.71`
//   in regencies-72.json, `72.71.02` in districts-72.71.json), and each region
//   of a file has a code there;
// - each region has a geometry, wound as d3-geo expects (a ring wound the
//   other way covers the rest of the globe) and lying within Indonesia;
// - no other JSON file is there, and the licence is.
//
// Usage: node web/map/check.js (exit 1 on any problem). `refresh` runs it
// after writing; run it alone after refreshing model/data/regions/. It needs
// topojson-client and d3-geo, from web/map/node_modules or web/node_modules.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const topojson = require('topojson-client');

const OUT = path.join(__dirname, '..', 'public', 'map');
const REGIONS = path.join(__dirname, '..', '..', 'model', 'data', 'regions');

/** The codes in the first column of one of model/data/regions/*.csv. */
function readCodes(file) {
  const lines = fs.readFileSync(path.join(REGIONS, file), 'utf8').trim().split('\n').slice(1);
  return lines.map((l) => l.slice(0, l.indexOf(',')));
}

/** The file of OUT that holds a region: what RegionMap's mapUrl asks for. */
function fileOf(code) {
  const parts = code.split('.');
  if (parts.length === 1) return 'provinces.json';
  if (parts.length === 2) return `regencies-${parts[0]}.json`;
  return `districts-${parts[0]}.${parts[1]}.json`;
}

/** Returns the problems found, and how many regions and files were read. */
async function check() {
  const { geoArea, geoBounds } = await import('d3-geo');
  const problems = [];
  const expected = new Map();
  for (const csv of ['provinces.csv', 'regencies.csv', 'districts.csv']) {
    for (const code of readCodes(csv)) expected.set(code, csv);
  }
  const wanted = new Set([...expected.keys()].map(fileOf));
  const files = fs.readdirSync(OUT).filter((f) => f.endsWith('.json')).sort();
  let regions = 0;
  for (const file of files) {
    if (!wanted.has(file)) {
      problems.push(`${file}: no region of model/data/regions belongs in it`);
      continue;
    }
    const topology = JSON.parse(fs.readFileSync(path.join(OUT, file), 'utf8'));
    if (!topology.objects || !topology.objects.regions) {
      problems.push(`${file}: has no object "regions"`);
      continue;
    }
    for (const f of topojson.feature(topology, topology.objects.regions).features) {
      regions++;
      const code = String(f.id);
      if (!expected.has(code)) problems.push(`${file}: region ${code} is in no CSV of model/data/regions (or is repeated)`);
      else if (fileOf(code) !== file) problems.push(`${file}: region ${code} belongs in ${fileOf(code)}`);
      expected.delete(code);
      if (typeof f.properties?.name !== 'string' || !f.properties.name) problems.push(`${file}: region ${code} has no name`);
      if (!f.geometry) {
        problems.push(`${file}: region ${code} has no geometry`);
        continue;
      }
      if (geoArea(f) > 2 * Math.PI) problems.push(`${file}: region ${code} is wound the wrong way for d3-geo`);
      const [[w, s], [e, n]] = geoBounds(f);
      if (w < 94 || e > 142 || s < -12 || n > 7) problems.push(`${file}: region ${code} lies outside Indonesia`);
    }
  }
  for (const [code, csv] of expected) problems.push(`${code} of ${csv} has no region in ${fileOf(code)}`);
  if (!fs.existsSync(path.join(OUT, 'LICENSE-MIT'))) problems.push('LICENSE-MIT is missing');
  return { problems, regions, files: files.length };
}

module.exports = { check, readCodes, OUT, REGIONS };

if (require.main === module) {
  check().then(
    ({ problems, regions, files }) => {
      if (problems.length) {
        console.error(problems.join('\n'));
        console.error(`map check: ${problems.length} problem(s) in ${OUT}`);
        process.exit(1);
      }
      console.log(`map check: ${regions} regions in ${files} files match model/data/regions`);
    },
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
