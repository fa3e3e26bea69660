// Copies every object under an S3 prefix into a local directory with the MinIO JS client (an S3 client
// nobody here wrote), so that DuckDB and the tests' _spark_metadata reader can read S3 output as files.
//
//   node s3_mirror.mjs --endpoint http://127.0.0.1:P --access-key K --secret S BUCKET PREFIX OUTDIR
//
// OUTDIR is emptied first; object "PREFIX/a/b" becomes OUTDIR/a/b. A writer may be adding objects while
// this runs, so the copy is only accepted when a listing taken after the downloads equals the one taken
// before (same keys, sizes and ETags) and every downloaded object has its listed size; otherwise it
// starts again (up to 10 times). Prints the number of objects copied. Exit 1 with the client's error,
// exit 3 when the objects kept changing.
import fs from 'node:fs';
import path from 'node:path';
import * as Minio from 'minio';

const argv = process.argv.slice(2);
const opts = {};
while (argv.length && argv[0].startsWith('--')) { opts[argv[0].slice(2)] = argv[1]; argv.splice(0, 2); }
const [bucket, prefix, outDir] = argv;
if (!opts.endpoint || !bucket || prefix === undefined || !outDir) {
  process.stderr.write('usage: s3_mirror.mjs --endpoint URL --access-key K --secret S BUCKET PREFIX OUTDIR\n');
  process.exit(2);
}
const ep = new URL(opts.endpoint);
const client = new Minio.Client({
  endPoint: ep.hostname, port: Number(ep.port), useSSL: ep.protocol === 'https:',
  accessKey: opts['access-key'], secretKey: opts.secret, region: opts.region || 'us-east-1', pathStyle: true,
});

async function list() {
  const out = [];
  for await (const o of client.listObjectsV2(bucket, prefix, true)) out.push({ key: o.name, size: o.size, etag: o.etag });
  return out;
}

// False when the object changed or went away (a recovery deletes orphans) since it was listed.
async function download(o) {
  const chunks = [];
  try {
    for await (const c of await client.getObject(bucket, o.key)) chunks.push(c);
  } catch (e) {
    if (e.code === 'NoSuchKey') return false;
    throw e;
  }
  const data = Buffer.concat(chunks);
  const file = path.join(outDir, o.key.slice(prefix.length));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, data);
  return data.length === o.size;
}

try {
  for (let attempt = 1; attempt <= 10; ++attempt) {
    fs.rmSync(outDir, { recursive: true, force: true });
    fs.mkdirSync(outDir, { recursive: true });
    const before = await list();
    let complete = true;
    for (let i = 0; i < before.length; i += 8) {
      const ok = await Promise.all(before.slice(i, i + 8).map(download));
      complete = complete && ok.every(Boolean);
    }
    const after = await list();
    if (complete && JSON.stringify(before) === JSON.stringify(after)) {
      process.stdout.write(`${before.length}\n`);
      process.exit(0);
    }
  }
  process.stderr.write(`s3_mirror: s3://${bucket}/${prefix} kept changing while it was copied\n`);
  process.exit(3);
} catch (e) {
  process.stderr.write(`s3_mirror: ${e.code || ''} ${e.message}\n`);
  process.exit(1);
}
