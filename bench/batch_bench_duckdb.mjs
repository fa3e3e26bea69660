// The DuckDB peer of bench/batch_bench.sh: the same job as `cdcpipe batch --full` in SQL on the same
// raw Parquet (JSON extraction, last event per key, group by), threads=2. Prints the elapsed seconds
// and checks that its answer equals the result folders cdcpipe wrote (files listed in _SUCCESS).
//   node batch_bench_duckdb.mjs OUTPUT_DIR
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

// ESM ignores NODE_PATH: resolve the package from the test peers' node_modules (NODE_PATH) explicitly.
const require = createRequire(process.env.NODE_PATH + '/');
const { DuckDBInstance } = await import(pathToFileURL(require.resolve('@duckdb/node-api')).href);

const dir = process.argv[2];
const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();
await conn.run('SET threads=2');
const t0 = process.hrtime.bigint();
await conn.run(`
  CREATE TEMP TABLE last_event AS
  SELECT topic, j[1] AS op, j[4] AS kraj, CAST(j[5] AS INTEGER) AS wiek, j[6] AS stanowisko FROM (
    SELECT topic, "offset" AS off,
           json_extract_string(value, ['$.op', '$.before.id', '$.after.id', '$.after.kraj', '$.after.wiek',
                                       '$.after.stanowisko']) AS j
    FROM read_parquet('${dir}/raw-kafka-data/*.parquet')
    WHERE value IS NOT NULL AND (topic = 'dbserver1.public.klienci' OR topic = 'dbserver1.public.pracownicy'))
  QUALIFY row_number() OVER (PARTITION BY topic, CAST(coalesce(j[3], j[2]) AS BIGINT) ORDER BY off DESC) = 1`);
const countries = (await conn.runAndReadAll(`
  SELECT kraj, count(*) AS n FROM last_event WHERE topic = 'dbserver1.public.klienci' AND op <> 'd' GROUP BY kraj`)).getRowsJS();
const positions = (await conn.runAndReadAll(`
  SELECT stanowisko, avg(wiek) AS a, count(*) AS n FROM last_event
  WHERE topic = 'dbserver1.public.pracownicy' AND op <> 'd' GROUP BY stanowisko`)).getRowsJS();
const secs = Number(process.hrtime.bigint() - t0) / 1e9;

// Compare with what cdcpipe wrote.
function listed(folder) {
  const m = JSON.parse(readFileSync(`${dir}/${folder}/_SUCCESS`, 'utf8'));
  return '[' + m.files.map((f) => `'${dir}/${folder}/${f}'`).join(',') + ']';
}
const ours1 = (await conn.runAndReadAll(`SELECT kraj, count FROM read_parquet(${listed('klienci-by-country')})`)).getRowsJS();
const ours2 = (await conn.runAndReadAll(
    `SELECT stanowisko, avg_age, count FROM read_parquet(${listed('avg-age-by-position')})`)).getRowsJS();
const key = (v) => (v === null ? '<NULL>' : v);
const a = new Map(countries.map((r) => [key(r[0]), Number(r[1])]));
const b = new Map(ours1.map((r) => [key(r[0]), Number(r[1])]));
let ok = a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
const c = new Map(positions.map((r) => [key(r[0]), [r[1], Number(r[2])]]));
for (const r of ours2) {
  const w = c.get(key(r[0]));
  if (!w || w[1] !== Number(r[2]) || Math.abs((w[0] ?? 0) - (r[1] ?? 0)) > 1e-9) ok = false;
}
if (c.size !== ours2.length) ok = false;
console.log(JSON.stringify({ seconds: secs, agree: ok, groups: a.size + c.size }));
process.exit(ok ? 0 : 3);
