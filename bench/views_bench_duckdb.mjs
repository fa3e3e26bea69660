// The DuckDB peer of bench/views_bench.sh: recomputes the views of a views file from the raw Parquet
// (every event since the start: JSON extraction, the last event per primary key, then the views' own
// SELECTs over the resulting tables), threads=2, best of RUNS fresh recomputations. Events are
// schemas.enable=false with decimal.handling.mode=string, so numerics cast straight from the JSON
// string. Prints {"seconds": best wall, "cpu_seconds": best process CPU (both threads), "runs": [...],
// "rows": {view: row count}}.
//   node views_bench_duckdb.mjs DATA_DIR VIEWS_FILE [RUNS]
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

// ESM ignores NODE_PATH: resolve the package from the test peers' node_modules (NODE_PATH) explicitly.
const require = createRequire(process.env.NODE_PATH + '/');
const { DuckDBInstance } = await import(pathToFileURL(require.resolve('@duckdb/node-api')).href);

const [dir, viewsFile, runsArg] = process.argv.slice(2);
const runs = Number(runsArg ?? 3);
// CREATE VIEW name AS <select>; -> [name, select]. The file has no ';' inside statements.
const views = readFileSync(viewsFile, 'utf8')
  .split('\n').filter((l) => !l.trim().startsWith('--')).join('\n')
  .split(';').map((s) => s.trim()).filter((s) => s.length > 0)
  .map((s) => {
    const m = /^CREATE\s+VIEW\s+("[^"]+"|\S+)\s+AS\s+([\s\S]*)$/i.exec(s);
    if (!m) throw new Error(`not a CREATE VIEW: ${s}`);
    return [m[1].replace(/"/g, ''), m[2]];
  });

const raw = `read_parquet('${dir}/raw-kafka-data/*.parquet')`;
const times = [], cpus = [];
let rows = {};
for (let run = 0; run < runs; ++run) {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  await conn.run('SET threads=2');
  await conn.run("SET TimeZone='UTC'");
  const t0 = process.hrtime.bigint(), c0 = process.cpuUsage();
  // The last event per key of each table; a delete (including the delete half of a primary-key
  // change) removes the key.
  await conn.run(`
    CREATE TEMP TABLE ev AS
    SELECT topic, "offset" AS off,
           json_extract_string(value, ['$.op', '$.before.id', '$.after.id', '$.after.grp', '$.after.val',
                                       '$.after.name', '$.after.ts', '$.after.flag', '$.after.region']) AS j
    FROM ${raw} WHERE value IS NOT NULL`);
  await conn.run(`
    CREATE TEMP TABLE big AS
    SELECT CAST(j[3] AS BIGINT) AS id, CAST(j[4] AS INTEGER) AS grp, CAST(j[5] AS DECIMAL(12,2)) AS val,
           j[6] AS name, CAST(j[7] AS TIMESTAMPTZ) AS ts, CAST(j[8] AS BOOLEAN) AS flag
    FROM ev WHERE topic = 'dbserver1.public.big'
    QUALIFY row_number() OVER (PARTITION BY coalesce(j[3], j[2]) ORDER BY off DESC) = 1 AND j[1] <> 'd'`);
  await conn.run(`
    CREATE TEMP TABLE dim AS
    SELECT CAST(j[3] AS INTEGER) AS id, j[9] AS region
    FROM ev WHERE topic = 'dbserver1.public.dim'
    QUALIFY row_number() OVER (PARTITION BY coalesce(j[3], j[2]) ORDER BY off DESC) = 1 AND j[1] <> 'd'`);
  rows = {};
  for (const [name, select] of views) {
    const r = await conn.runAndReadAll(select);
    rows[name] = r.getRowsJS().length;
  }
  times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  const c = process.cpuUsage(c0);
  cpus.push((c.user + c.system) / 1e6);
  conn.closeSync?.();
}
console.log(JSON.stringify({ seconds: Math.min(...times), cpu_seconds: Math.min(...cpus), runs: times, rows }));
