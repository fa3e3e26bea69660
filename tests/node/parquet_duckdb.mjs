// Runs SQL statements (argv[2..]) in one in-memory DuckDB connection, in order, and prints the rows
// of the last one as JSON arrays (BigInt as numbers within 2^53, else strings). Used by the Parquet
// interop test to run COPY ... TO ... (FORMAT parquet ...) after SET statements.
import { DuckDBInstance } from '@duckdb/node-api';

const statements = process.argv.slice(2);
const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();
try {
  let reader = null;
  for (const sql of statements) reader = await conn.runAndReadAll(sql);
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
