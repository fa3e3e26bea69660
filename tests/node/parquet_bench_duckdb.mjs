// The DuckDB side of bench/parquet_bench.sh. Args: EVENTS_TSV DUCK_OUT OURS_PARQUET
// Loads the TSV (written by `parquet_bench gen`) into a table, then with SET threads=1 times
//   COPY (SELECT * FROM events) TO DUCK_OUT (FORMAT parquet, COMPRESSION snappy)
// and SELECT count(*), sum(length(value)) on both files (best of 3). Prints one JSON object.
import { DuckDBInstance } from '@duckdb/node-api';
import { statSync } from 'node:fs';

const [tsv, duckOut, ours] = process.argv.slice(2);
const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();
await conn.run(`CREATE TABLE events AS SELECT key, value, topic, partition, "offset",
  make_timestamp(ts)::TIMESTAMPTZ AS "timestamp", timestampType
  FROM read_csv('${tsv}', delim='\t', header=false, quote='', escape='',
    columns={'key':'VARCHAR','value':'VARCHAR','topic':'VARCHAR','partition':'INTEGER','offset':'BIGINT',
             'ts':'BIGINT','timestampType':'INTEGER'})`);
await conn.run('SET threads=1');
const rows = Number((await conn.runAndReadAll('SELECT count(*) FROM events')).getRows()[0][0]);
const cpuSeconds = c => (c.user + c.system) / 1e6;  // this process, all threads (DuckDB runs threads=1)
let t0 = performance.now();
let c0 = process.cpuUsage();
await conn.run(`COPY (SELECT * FROM events) TO '${duckOut}' (FORMAT parquet, COMPRESSION snappy)`);
const writeSeconds = (performance.now() - t0) / 1000;
const writeCpuSeconds = cpuSeconds(process.cpuUsage(c0));

async function timedRead(file) {
  let best = Infinity, bestCpu = Infinity, result = null;
  for (let i = 0; i < 3; i++) {
    t0 = performance.now();
    c0 = process.cpuUsage();
    const r = await conn.runAndReadAll(`SELECT count(*), sum(length(value)) FROM read_parquet('${file}')`);
    best = Math.min(best, (performance.now() - t0) / 1000);
    bestCpu = Math.min(bestCpu, cpuSeconds(process.cpuUsage(c0)));
    result = r.getRows()[0].map(v => Number(v));
  }
  return { seconds: best, cpu_seconds: bestCpu, count: result[0], sum_length_value: result[1] };
}
const readDuck = await timedRead(duckOut);
const readOurs = await timedRead(ours);
const sameValues = Number((await conn.runAndReadAll(`SELECT count(*) FROM (
  SELECT * FROM read_parquet('${ours}') EXCEPT ALL SELECT * FROM events)`)).getRows()[0][0]);
process.stdout.write(JSON.stringify({
  rows, write_seconds: writeSeconds, write_cpu_seconds: writeCpuSeconds, write_rows_per_s: rows / writeSeconds, file_bytes: statSync(duckOut).size,
  read_duck_file: readDuck, read_our_file: readOurs, rows_of_our_file_not_in_table: sameValues,
}) + '\n');
