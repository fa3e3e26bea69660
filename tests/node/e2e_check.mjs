// End-to-end check used by ./start-and-test-pipeline.sh: does every view of the views file equal
// PostgreSQL running the same SQL on the source? PostgreSQL evaluates the views itself: the file is
// executed inside a transaction that is rolled back (nothing is created), and each view's rows are
// read as JSON. They are compared with the live views of a running `cdcpipe run` (/api/status JSON:
// its row count, and its first rows must be rows of PostgreSQL's result) and, for a local output,
// with the Parquet results (only the files listed in each folder's _SUCCESS, read with DuckDB), row
// for row as multisets (numbers equal within a relative 1e-9).
//
//   node e2e_check.mjs PG_JSON API_JSON [OUTPUT_DIR]
// PG_JSON: {"<view>": [row objects, in column order], ...} as tests/node/e2e_pg_views.sh writes it.
// Exit 0 when everything matches; 1 with the differences on stderr otherwise.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

const [pgFile, apiFile, outputDir] = process.argv.slice(2);
if (!pgFile || !apiFile) {
  console.error('usage: e2e_check.mjs PG_JSON API_JSON [OUTPUT_DIR]');
  process.exit(2);
}

// A value in a comparable form: null, a number, or a string.
function norm(v) {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number' || typeof v === 'boolean') return typeof v === 'boolean' ? String(v) : v;
  const s = String(v);
  return /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(s) ? Number(s) : s;
}
function same(a, b) {
  if (a === null || b === null) return a === b;
  if (typeof a === 'number' && typeof b === 'number') {
    return a === b || Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
  }
  return String(a) === String(b);
}
const rowKey = (r) => JSON.stringify(r.map((v) => (typeof v === 'number' ? Number(v.toPrecision(12)) : v)));

// Multiset comparison: every row of `actual` matched to a distinct row of `expected`.
function compare(what, expected, actual, subset) {
  const pool = new Map();
  for (const r of expected) {
    const k = rowKey(r);
    if (!pool.has(k)) pool.set(k, []);
    pool.get(k).push(r);
  }
  const problems = [];
  for (const r of actual) {
    const bucket = pool.get(rowKey(r));
    const i = bucket ? bucket.findIndex((e) => e.every((v, j) => same(v, r[j]))) : -1;
    if (i < 0) { problems.push(`${what}: row ${JSON.stringify(r)} is not in PostgreSQL's result`); continue; }
    bucket.splice(i, 1);
  }
  if (!subset) {
    for (const rest of pool.values()) for (const r of rest) problems.push(`${what}: PostgreSQL's row ${JSON.stringify(r)} is missing`);
  }
  return problems;
}

const pg = JSON.parse(readFileSync(pgFile, 'utf8'));
const api = JSON.parse(readFileSync(apiFile, 'utf8'));
const problems = [];
const names = Object.keys(pg);
if (names.length === 0) problems.push('the views file defines no views');
const apiViews = new Map((api.views || []).map((v) => [v.name, v]));
const expected = new Map(names.map((n) => [n, (pg[n] || []).map((r) => Object.values(r).map(norm))]));
for (const name of names) {
  const v = apiViews.get(name);
  if (!v) { problems.push(`live: view ${JSON.stringify(name)} is not on /api/status`); continue; }
  if (v.error) problems.push(`live: view ${JSON.stringify(name)} stopped: ${v.error}`);
  if (v.row_count !== expected.get(name).length) {
    problems.push(`live: view ${JSON.stringify(name)} has ${v.row_count} rows, PostgreSQL ${expected.get(name).length}`);
  }
  problems.push(...compare(`live ${name}`, expected.get(name), v.rows.map((r) => r.map(norm)), true));
}
if (outputDir) {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  for (const name of names) {
    const success = join(outputDir, name, '_SUCCESS');
    if (!existsSync(success)) { problems.push(`${name}/_SUCCESS does not exist yet`); continue; }
    const manifest = JSON.parse(readFileSync(success, 'utf8'));
    const files = manifest.files.map((f) => `'${join(outputDir, name, f).replaceAll("'", "''")}'`);
    let rows = [];
    if (files.length) {
      const reader = await conn.runAndReadAll(`SELECT * FROM read_parquet([${files.join(',')}])`);
      rows = reader.getRowsJS().map((r) => r.map(norm));
    }
    problems.push(...compare(`Parquet ${name}`, expected.get(name), rows, false));
  }
}
if (problems.length) {
  process.stderr.write(problems.slice(0, 20).join('\n') + '\n');
  process.exit(1);
}
