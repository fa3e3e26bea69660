// Runs one SQL statement (argv[2]) in an in-memory DuckDB and prints each result row as a JSON array.
// BigInts within 2^53 are printed as numbers, larger ones as strings; dates/timestamps as ISO strings.
import { DuckDBInstance } from '@duckdb/node-api';

const sql = process.argv[2];
const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();
try {
  const reader = await conn.runAndReadAll(sql);
  for (const row of reader.getRowsJS()) {
    process.stdout.write(JSON.stringify(row, (k, v) => {
      if (typeof v === 'bigint') return (v <= 9007199254740991n && v >= -9007199254740991n) ? Number(v) : v.toString();
      if (v instanceof Date) return v.toISOString();
      return v;
    }) + '\n');
  }
} catch (e) {
  process.stderr.write(`duckdb: ${e.message}\n`);
  process.exit(1);
}
