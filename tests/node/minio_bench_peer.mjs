// The peer of bench/store_s3_bench.cc (lives here so ESM finds node_modules): the same workload with the MinIO JS client, in one process.
//   node minio_bench_peer.mjs ENDPOINT BUCKET OBJECTS OBJECT_BYTES BIG_BYTES
import crypto from 'node:crypto';
import * as Minio from 'minio';

const [endpoint, bucket, nArg, sizeArg, bigArg] = process.argv.slice(2);
const ep = new URL(endpoint);
const client = new Minio.Client({ endPoint: ep.hostname, port: Number(ep.port), useSSL: false,
  accessKey: 'S3RVER', secretKey: 'S3RVER', region: 'us-east-1', pathStyle: true });
const n = Number(nArg), size = Number(sizeArg), big = Number(bigArg);
const data = crypto.randomBytes(Math.max(size, big));
const small = data.subarray(0, size);
const now = () => Number(process.hrtime.bigint()) / 1e9;

let t0 = now();
for (let i = 0; i < n; i++) await client.putObject(bucket, `minio/small/${i}`, small, size);
console.log(`put ${n} ${n * size} ${(now() - t0).toFixed(6)}`);
t0 = now();
let got = 0;
for (let i = 0; i < n; i++) {
  const chunks = [];
  for await (const c of await client.getObject(bucket, `minio/small/${i}`)) chunks.push(c);
  got += Buffer.concat(chunks).length;
}
console.log(`get ${n} ${got} ${(now() - t0).toFixed(6)}`);
t0 = now();
await client.putObject(bucket, 'minio/big', data.subarray(0, big), big);
console.log(`bigput 1 ${big} ${(now() - t0).toFixed(6)}`);
