// End-to-end check used by ./start-and-test-pipeline.sh: do the pipeline's analytics equal SQL on the
// source? Compares the live aggregates of a running `cdcpipe run` (/api/status JSON) and, for a local
// output, the Parquet results (only the files listed in each folder's _SUCCESS, read with DuckDB)
// against the rows of
//   SELECT kraj, count(*) FROM klienci GROUP BY kraj
//   SELECT stanowisko, avg(wiek), count(*) FROM pracownicy GROUP BY stanowisko
// given as psql -A -F '|' output with NULL printed as \N (averages equal within 1e-9).
//
//   node e2e_check.mjs SQL_KLIENCI SQL_PRACOWNICY API_JSON [OUTPUT_DIR]
// Exit 0 when everything matches; 1 with the differences on stderr otherwise.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

const [sqlK, sqlP, apiFile, outputDir] = process.argv.slice(2);
const NULL = '\\N';

function parseSql(file, withAvg) {
  const rows = new Map();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    const f = line.split('|');
    rows.set(f[0], { count: Number(f[1]), avg: withAvg ? (f[2] === NULL || f[2] === '' ? null : Number(f[2])) : undefined });
  }
  return rows;
}

function compare(what, expected, actual, withAvg) {
  const problems = [];
  for (const [g, e] of expected) {
    const a = actual.get(g);
    if (!a) { problems.push(`${what}: group ${JSON.stringify(g)} missing (SQL count ${e.count})`); continue; }
    if (a.count !== e.count) problems.push(`${what}: group ${JSON.stringify(g)} count ${a.count}, SQL says ${e.count}`);
    if (withAvg) {
      const bad = (e.avg === null) !== (a.avg === null) || (e.avg !== null && Math.abs(e.avg - a.avg) > 1e-9);
      if (bad) problems.push(`${what}: group ${JSON.stringify(g)} avg_age ${a.avg}, SQL says ${e.avg}`);
    }
  }
  for (const g of actual.keys()) if (!expected.has(g)) problems.push(`${what}: extra group ${JSON.stringify(g)} (not in SQL)`);
  return problems;
}

function fromApi(rows, withAvg) {
  const m = new Map();
  for (const r of rows) m.set(r.group === null ? NULL : r.group, { count: Number(r.count), avg: withAvg ? (r.avg_age ?? null) : undefined });
  return m;
}

async function fromParquet(conn, folder, groupCol, withAvg) {
  const success = join(outputDir, folder, '_SUCCESS');
  if (!existsSync(success)) return { error: `${folder}/_SUCCESS does not exist yet` };
  const manifest = JSON.parse(readFileSync(success, 'utf8'));
  const files = manifest.files.map((f) => join(outputDir, folder, f));
  const m = new Map();
  if (files.length === 0) return { rows: m, manifest };
  const list = files.map((f) => `'${f.replaceAll("'", "''")}'`).join(',');
  const cols = withAvg ? `${groupCol}, count, avg_age` : `${groupCol}, count`;
  const reader = await conn.runAndReadAll(`SELECT ${cols} FROM read_parquet([${list}])`);
  for (const r of reader.getRowsJS()) {
    m.set(r[0] === null ? NULL : r[0], { count: Number(r[1]), avg: withAvg ? (r[2] ?? null) : undefined });
  }
  return { rows: m, manifest };
}

const expectedK = parseSql(sqlK, false);
const expectedP = parseSql(sqlP, true);
const api = JSON.parse(readFileSync(apiFile, 'utf8'));
let problems = [
  ...compare('live klienci-by-country', expectedK, fromApi(api.analytics.klienci_by_country, false), false),
  ...compare('live avg-age-by-position', expectedP, fromApi(api.analytics.avg_age_by_position, true), true),
];
if (outputDir) {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  const k = await fromParquet(conn, 'klienci-by-country', 'kraj', false);
  const p = await fromParquet(conn, 'avg-age-by-position', 'stanowisko', true);
  if (k.error) problems.push(k.error); else problems.push(...compare('Parquet klienci-by-country', expectedK, k.rows, false));
  if (p.error) problems.push(p.error); else problems.push(...compare('Parquet avg-age-by-position', expectedP, p.rows, true));
}
if (problems.length) {
  process.stderr.write(problems.slice(0, 20).join('\n') + '\n');
  process.exit(1);
}
