// Reads a Parquet file with hyparquet (+ hyparquet-compressors for zstd) and prints:
//   line 1: {"schema":[{"name","type","repetition","converted","logical"}...]} for the leaf columns
//   then one JSON array per row, columns in file order. INT64 values and timestamps (as integer
//   microseconds since the epoch, not Dates) are printed as numbers when within 2^53, else strings;
//   DATE as days since the epoch.
import { parquetMetadataAsync, parquetRead } from 'hyparquet';
import { asyncBufferFromFile } from 'hyparquet/src/node.js';
import { compressors } from 'hyparquet-compressors';

const file = await asyncBufferFromFile(process.argv[2]);
const metadata = await parquetMetadataAsync(file);
const leaves = metadata.schema.slice(1).map(e => ({
  name: e.name,
  type: e.type,
  repetition: e.repetition_type,
  converted: e.converted_type ?? null,
  logical: e.logical_type ? JSON.stringify(e.logical_type) : null,
}));
process.stdout.write(JSON.stringify({ schema: leaves }) + '\n');
const parsers = {
  timestampFromMicroseconds: v => v,
  timestampFromMilliseconds: v => BigInt(v) * 1000n,
  timestampFromNanoseconds: v => BigInt(v) / 1000n,
  dateFromDays: v => v,
};
await parquetRead({
  file, metadata, compressors, parsers, rowFormat: 'array',
  onComplete: rows => {
    for (const row of rows) {
      process.stdout.write(JSON.stringify(row, (k, v) => {
        if (typeof v === 'bigint') return (v <= 9007199254740991n && v >= -9007199254740991n) ? Number(v) : v.toString();
        return v;
      }) + '\n');
    }
  },
});
