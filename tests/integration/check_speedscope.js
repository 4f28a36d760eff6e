#!/usr/bin/env node
// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
// check_speedscope.js - says whether speedscope would load a JSON file,
// using the schema and the importer that the speedscope npm package ships.
//
// Install (once; the package is pinned because check 3 reads its bundle):
//     npm install --prefix build/node speedscope@1.25.0
// Run (from the repository root):
//     node tests/integration/check_speedscope.js FILE.json [FILE.json ...]
// SPEEDSCOPE_DIR=/path/to/node_modules/speedscope overrides where it looks.
// Exit status: 0 all files valid, 1 a file is invalid, 2 the checker could
// not run (bundle layout changed), 77 SKIP: the package is not installed.
//
// Three checks, each closer to what the speedscope UI does:
// 1. dist/release/file-format-schema.json (draft-07), with a small
//    validator for exactly the keywords that schema uses; any other keyword
//    stops the check, so a schema update cannot be half-understood.
// 2. What the schema cannot say: sample entries index shared.frames, one
//    weight per sample, weights >= 0, and (pybpf's own promise)
//    endValue - startValue == the sum of the weights.
// 3. speedscope's importer: the function its UI calls for a file whose
//    $schema is the speedscope URL, taken out of the shipped browser bundle
//    and run in a node vm.  Every imported profile must keep its name and
//    total weight, and its call tree must open and close balanced.
'use strict';

const fs = require('fs');
const path = require('path');
const vm = require('vm');

const PINNED = '1.25.0';
const SCHEMA_URL = 'https://www.speedscope.app/file-format-schema.json';

function findPackage() {
  const dirs = [process.env.SPEEDSCOPE_DIR,
    path.join(__dirname, '../../build/node/node_modules/speedscope')];
  try {
    dirs.push(path.dirname(require.resolve('speedscope/package.json')));
  } catch (e) { /* not on node's search path either */ }
  return dirs.find(d => d && fs.existsSync(path.join(d, 'package.json')));
}

// ---- 1. JSON schema (the draft-07 subset speedscope's schema uses) ----

const KEYWORDS = new Set(['$schema', '$ref', 'definitions', 'title',
  'description', 'type', 'const', 'enum', 'properties', 'required', 'items',
  'anyOf']);

function typeOk(type, v) {
  switch (type) {
    case 'object': return v !== null && typeof v === 'object' && !Array.isArray(v);
    case 'array': return Array.isArray(v);
    case 'string': return typeof v === 'string';
    case 'number': return typeof v === 'number' && isFinite(v);
    case 'integer': return Number.isInteger(v);
    case 'boolean': return typeof v === 'boolean';
    case 'null': return v === null;
  }
  throw new Error(`schema type ${type} not supported`);
}

function same(a, b) { return JSON.stringify(a) === JSON.stringify(b); }

// Appends "where: what" strings to errs.
function validate(schema, v, root, where, errs) {
  if (schema.$ref) {                      // draft-07: siblings of $ref are ignored
    const m = /^#\/definitions\/(.+)$/.exec(schema.$ref);
    if (!m || !root.definitions[m[1]]) throw new Error(`bad $ref ${schema.$ref}`);
    return validate(root.definitions[m[1]], v, root, where, errs);
  }
  for (const k of Object.keys(schema))
    if (!KEYWORDS.has(k)) throw new Error(`schema keyword ${k} not supported`);
  const before = errs.length;
  if (schema.type && ![].concat(schema.type).some(t => typeOk(t, v)))
    errs.push(`${where}: expected ${schema.type}, got ${JSON.stringify(v)}`.slice(0, 200));
  if ('const' in schema && !same(schema.const, v))
    errs.push(`${where}: must be ${JSON.stringify(schema.const)}`);
  if (schema.enum && !schema.enum.some(e => same(e, v)))
    errs.push(`${where}: must be one of ${JSON.stringify(schema.enum)}`);
  if (errs.length > before || v === null || typeof v !== 'object')
    return;
  for (const k of schema.required || [])
    if (!(k in v)) errs.push(`${where}: missing "${k}"`);
  for (const [k, sub] of Object.entries(schema.properties || {}))
    if (k in v) validate(sub, v[k], root, `${where}.${k}`, errs);
  if (schema.items && Array.isArray(v))
    v.forEach((item, i) => validate(schema.items, item, root, `${where}[${i}]`, errs));
  if (schema.anyOf) {
    const tries = schema.anyOf.map(s => {
      const e = [];
      validate(s, v, root, where, e);
      return e;
    });
    if (!tries.some(e => e.length === 0))
      errs.push(`${where}: matches no alternative (${tries.map(e => e[0]).join(' / ')})`);
  }
}

// ---- 2. What the schema cannot express ----

function semantics(file, errs) {
  const nframes = file.shared.frames.length;
  file.profiles.forEach((p, i) => {
    const at = `profiles[${i}]`;
    if (p.type !== 'sampled') {
      for (const ev of p.events)
        if (!(Number.isInteger(ev.frame) && ev.frame >= 0 && ev.frame < nframes))
          errs.push(`${at}: event frame ${ev.frame} out of range`);
      return;
    }
    if (p.samples.length !== p.weights.length)
      errs.push(`${at}: ${p.samples.length} samples but ${p.weights.length} weights`);
    p.samples.forEach((s, j) => s.forEach(f => {
      if (!(Number.isInteger(f) && f >= 0 && f < nframes))
        errs.push(`${at}.samples[${j}]: frame ${f} not in shared.frames`);
    }));
    if (p.weights.some(w => !(w >= 0)))
      errs.push(`${at}: negative weight`);
    const sum = p.weights.reduce((a, b) => a + b, 0);
    if (p.endValue - p.startValue !== sum)
      errs.push(`${at}: endValue - startValue = ${p.endValue - p.startValue}, weights sum to ${sum}`);
  });
}

// ---- 3. speedscope's own importer ----

// The bundle is one esbuild IIFE.  The importer is the function called
// right after the "Importing as speedscope json file" log line; it lives
// in a lazily initialized module whose init function is the first
// `var X=re(()=>{"use strict";...})` after it.  Export both right there,
// then run the bundle until it stops on the missing browser (`window`).
function loadImporter(dir) {
  const rel = path.join(dir, 'dist/release');
  const name = fs.readdirSync(rel).find(f => /^speedscope-.*\.js$/.test(f));
  const src = name ? fs.readFileSync(path.join(rel, name), 'utf8') : '';
  const call = /Importing as speedscope json file"\),([\w$]+)\(/.exec(src);
  const def = call ? src.indexOf(`function ${call[1]}(`) : -1;
  const initRe = /var ([\w$]+)=[\w$]+\(\(\)=>\{"use strict";/g;
  initRe.lastIndex = Math.max(def, 0);
  const init = def >= 0 ? initRe.exec(src) : null;
  const end = init ? src.indexOf('});', init.index) + 3 : -1;
  if (end < 3)
    return null;
  const hook = `globalThis.__pybpfImport={importFile:${call[1]},init:${init[1]}};`;
  const quiet = () => {};
  const ctx = { console: { log: quiet, warn: quiet, error: quiet, assert: quiet,
    info: quiet, time: quiet, timeEnd: quiet } };
  ctx.globalThis = ctx;
  vm.createContext(ctx);
  try {
    vm.runInContext(src.slice(0, end) + hook + src.slice(end), ctx, { filename: name });
  } catch (e) { /* expected: the UI part needs a browser */ }
  const h = ctx.__pybpfImport;
  if (!h || typeof h.importFile !== 'function' || typeof h.init !== 'function')
    return null;
  h.init();
  return h.importFile;
}

function importCheck(importFile, file, errs) {
  const group = importFile(JSON.parse(JSON.stringify(file)));
  if (!group || !Array.isArray(group.profiles) ||
      group.profiles.length !== file.profiles.length) {
    errs.push('speedscope: import returned a different number of profiles');
    return;
  }
  group.profiles.forEach((p, i) => {
    const want = file.profiles[i];
    const at = `speedscope profiles[${i}]`;
    if (p.getName() !== want.name)
      errs.push(`${at}: name ${JSON.stringify(p.getName())}`);
    const total = want.type === 'sampled' ?
      want.weights.reduce((a, b) => a + b, 0) : want.endValue - want.startValue;
    if (p.getTotalWeight() !== total)
      errs.push(`${at}: total weight ${p.getTotalWeight()}, expected ${total}`);
    let depth = 0, calls = 0;
    p.forEachCall(() => { depth++; calls++; }, () => { depth--; });
    if (depth !== 0)
      errs.push(`${at}: call tree unbalanced`);
    if (total > 0 && want.samples && want.samples.some(s => s.length) && calls === 0)
      errs.push(`${at}: no calls imported`);
  });
}

function checkFile(fname, schema, importFile) {
  const errs = [];
  let file;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(fs.readFileSync(fname));
    file = JSON.parse(text);
  } catch (e) {
    return [`not UTF-8 JSON: ${e.message}`];
  }
  validate(schema, file, schema, '$', errs);
  if (errs.length)
    return errs;
  if (file.$schema !== SCHEMA_URL)
    errs.push('$schema is not the speedscope URL: speedscope would not use its own importer');
  semantics(file, errs);
  if (!errs.length)
    importCheck(importFile, file, errs);
  return errs;
}

function main(files) {
  if (!files.length) {
    console.error('usage: check_speedscope.js FILE.json [FILE.json ...]');
    return 2;
  }
  const dir = findPackage();
  if (!dir) {
    console.log(`SKIP: speedscope not installed (npm install --prefix build/node speedscope@${PINNED})`);
    return 77;
  }
  const version = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
  if (version !== PINNED)
    console.error(`check_speedscope: speedscope ${version}, checked against ${PINNED}`);
  const schema = JSON.parse(fs.readFileSync(path.join(dir, 'dist/release/file-format-schema.json'), 'utf8'));
  const importFile = loadImporter(dir);
  if (!importFile) {
    console.error(`check_speedscope: cannot find the importer in speedscope ${version}'s bundle`);
    return 2;
  }
  let bad = 0;
  for (const fname of files) {
    const errs = checkFile(fname, schema, importFile);
    if (errs.length) {
      bad++;
      console.error(`${fname}: INVALID`);
      errs.slice(0, 20).forEach(e => console.error(`  ${e}`));
    } else {
      console.log(`${fname}: OK (schema, semantics, speedscope ${version} importer)`);
    }
  }
  return bad ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
