// The MinIO JS client (an S3 client nobody here wrote) as an independent reader/writer for the S3
// tests. Talks to the endpoint directly (s3rver) or through sigv4_proxy.mjs.
//
//   node minio_client.mjs --endpoint http://127.0.0.1:P --access-key K --secret S <command> ...
//     get BUCKET KEY OUTFILE     writes the object's bytes to OUTFILE, prints its size and sha256
//     sha256 BUCKET KEY          prints "<size> <sha256 hex>"
//     list BUCKET PREFIX         prints one JSON line per object: {"key":..,"size":..}
//     put BUCKET KEY INFILE      uploads INFILE's bytes
//     stat BUCKET KEY            prints {"size":..,"etag":..}
// Exit 1 with the client's error on stderr on failure.
import fs from 'node:fs';
import crypto from 'node:crypto';
import * as Minio from 'minio';

const argv = process.argv.slice(2);
const opts = {};
while (argv.length && argv[0].startsWith('--')) { opts[argv[0].slice(2)] = argv[1]; argv.splice(0, 2); }
const ep = new URL(opts.endpoint);
const client = new Minio.Client({
  endPoint: ep.hostname, port: Number(ep.port), useSSL: ep.protocol === 'https:',
  accessKey: opts['access-key'], secretKey: opts.secret, region: opts.region || 'us-east-1', pathStyle: true,
});
const [cmd, bucket, key, file] = argv;

async function readAll(stream) {
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  return Buffer.concat(chunks);
}

try {
  if (cmd === 'get' || cmd === 'sha256') {
    const data = await readAll(await client.getObject(bucket, key));
    if (cmd === 'get') fs.writeFileSync(file, data);
    process.stdout.write(`${data.length} ${crypto.createHash('sha256').update(data).digest('hex')}\n`);
  } else if (cmd === 'list') {
    const stream = client.listObjectsV2(bucket, key || '', true);
    for await (const o of stream) process.stdout.write(JSON.stringify({ key: o.name, size: o.size }) + '\n');
  } else if (cmd === 'put') {
    const data = fs.readFileSync(file);
    await client.putObject(bucket, key, data, data.length);
  } else if (cmd === 'stat') {
    const st = await client.statObject(bucket, key);
    process.stdout.write(JSON.stringify({ size: st.size, etag: st.etag }) + '\n');
  } else {
    throw new Error(`unknown command ${cmd}`);
  }
} catch (e) {
  process.stderr.write(`minio: ${e.code || ''} ${e.message}\n`);
  process.exit(1);
}
