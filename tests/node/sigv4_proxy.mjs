// A SigV4-checking reverse proxy for S3 tests: s3rver does not verify signatures, so this sits in
// front of it, recomputes every request's AWS Signature V4 with the `aws4` package (written by
// others, from the AWS spec) and the known secret, and answers like S3 does when they differ.
//
//   node sigv4_proxy.mjs --port P --upstream http://127.0.0.1:U --access-key K --secret S [--region R]
//                        [--tls-cert server.crt --tls-key server.key]
//
// With --tls-cert and --tls-key it speaks HTTPS (node:tls terminates it; s3rver behind stays plain
// HTTP), for tests of S3 over TLS with a private CA.
//
// Checks, in order (each failure answers an S3 error document and is never forwarded):
//   - an Authorization header "AWS4-HMAC-SHA256 Credential=K/date/region/s3/aws4_request,
//     SignedHeaders=...,Signature=..." with the known access key (403 InvalidAccessKeyId) and region
//     (400 AuthorizationHeaderMalformed)
//   - SignedHeaders includes host, x-amz-date and x-amz-content-sha256 (403 SignatureDoesNotMatch)
//   - x-amz-content-sha256 equals the hex SHA-256 of the body unless UNSIGNED-PAYLOAD
//     (400 XAmzContentSHA256Mismatch)
//   - the signature equals what aws4 computes from the method, path, query and the signed headers
//     (403 SignatureDoesNotMatch)
// Fault injection (admin paths are not signed and never forwarded):
//   POST /__proxy/fail?count=N&status=500   the next N S3 requests get that status (InternalError/SlowDown)
//   POST /__proxy/drop?count=N              the next N S3 requests get their connection closed
//   POST /__proxy/hang?count=N[&match=S]    the next N S3 requests (whose path contains S) are read and
//                                           never answered, their connection never closed (a black hole,
//                                           as a dropped NAT entry leaves it): only the client's timeout
//                                           ends them (or reset)
//   POST /__proxy/slow?count=N&delay_ms=D   the next N S3 requests are answered D ms late (then forwarded)
//   POST /__proxy/lose?count=N[&method=M][&match=S]
//                                           the next N S3 requests (of method M, whose path contains S) are
//                                           forwarded and done by s3rver, but the answer is lost (connection
//                                           closed instead)
//   POST /__proxy/conditional?on=1          emulate `If-None-Match: *` on PUT (s3rver ignores it):
//                                           conditional PUTs of a key run one at a time, 412 when the
//                                           key exists, as AWS S3 and MinIO do atomically
//   GET  /__proxy/stats                     {"requests":..,"forwarded":..,"rejected":..,"injected":..,
//                                            "dropped":..,"lastRejection":"..","methods":{"PUT":..},
//                                            "signedHeaders":{"PUT":"host;..."}}  (last seen per method)
//   POST /__proxy/reset                     zeroes the counters and turns all faults and emulation off
// Prints "listening <port>" on stdout once it accepts connections.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import crypto from 'node:crypto';
import aws4 from 'aws4';

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const port = Number(args.port);
const upstream = new URL(args.upstream);
const accessKey = args['access-key'];
const secret = args.secret;
const region = args.region || 'us-east-1';
if (!port || !accessKey || !secret) {
  console.error('usage: sigv4_proxy.mjs --port P --upstream URL --access-key K --secret S [--region R]');
  process.exit(2);
}

let failNext = 0, failStatus = 500, dropNext = 0, loseNext = 0, loseMethod = '', loseMatch = '';
let hangNext = 0, hangMatch = '', slowNext = 0, slowDelayMs = 0;
const hanging = new Set();  // sockets of requests left unanswered (hang), destroyed by reset
let emulateIfNoneMatch = false;
const keyLocks = new Map();  // path -> promise of the last conditional PUT of that key
let stats;
function resetStats() {
  stats = { requests: 0, forwarded: 0, rejected: 0, injected: 0, dropped: 0, lost: 0, hung: 0, slowed: 0, preconditionFailed: 0, lastRejection: '', methods: {}, signedHeaders: {} };
}
resetStats();

function s3Error(res, status, code, message) {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function reject(res, status, code, message) {
  stats.rejected++;
  stats.lastRejection = `${code}: ${message}`;
  process.stderr.write(`sigv4_proxy: rejected ${status} ${code}: ${message}\n`);
  s3Error(res, status, code, message);
}

// Returns null when the request is correctly signed, else [status, code, message].
function verify(req, body) {
  const auth = req.headers['authorization'];
  if (!auth) return [403, 'AccessDenied', 'no Authorization header'];
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return [400, 'AuthorizationHeaderMalformed', `cannot parse Authorization: ${auth.replace(/Signature=.*/, 'Signature=...')}`];
  const [, key, date, reqRegion, service, signedList] = m;
  if (key !== accessKey) return [403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.'];
  if (reqRegion !== region) return [400, 'AuthorizationHeaderMalformed', `region '${reqRegion}' is wrong; expecting '${region}'`];
  if (service !== 's3') return [400, 'AuthorizationHeaderMalformed', `service '${service}' is wrong; expecting 's3'`];
  const signed = signedList.split(';');
  stats.signedHeaders[req.method] = signedList;
  for (const need of ['host', 'x-amz-date', 'x-amz-content-sha256']) {
    if (!signed.includes(need)) return [403, 'SignatureDoesNotMatch', `SignedHeaders lacks ${need}: ${signedList}`];
  }
  const amzDate = req.headers['x-amz-date'] || '';
  if (amzDate.slice(0, 8) !== date) return [403, 'SignatureDoesNotMatch', 'x-amz-date does not match the credential scope date'];
  const claimed = req.headers['x-amz-content-sha256'];
  if (claimed !== 'UNSIGNED-PAYLOAD') {
    const actual = crypto.createHash('sha256').update(body).digest('hex');
    if (claimed !== actual) {
      return [400, 'XAmzContentSHA256Mismatch', `x-amz-content-sha256 ${claimed} but the body hashes to ${actual}`];
    }
  }
  const headers = {};
  for (const name of signed) {
    const v = req.headers[name];
    if (v === undefined) return [403, 'SignatureDoesNotMatch', `signed header ${name} is not in the request`];
    headers[name] = Array.isArray(v) ? v.join(',') : v;
  }
  const opts = { method: req.method, host: req.headers.host, path: req.url, service: 's3', region, headers };
  aws4.sign(opts, { accessKeyId: accessKey, secretAccessKey: secret });
  const expected = opts.headers.Authorization || opts.headers.authorization;
  if (expected !== auth) {
    const signer = new aws4.RequestSigner({ method: req.method, host: req.headers.host, path: req.url, service: 's3', region, headers }, { accessKeyId: accessKey, secretAccessKey: secret });
    return [403, 'SignatureDoesNotMatch',
      `The request signature we calculated does not match the signature you provided. Canonical request: ${JSON.stringify(signer.canonicalString())}; got ${auth.replace(/Signature=.*/, '')}`];
  }
  return null;
}

const tls = args['tls-cert'] ? { cert: fs.readFileSync(args['tls-cert']), key: fs.readFileSync(args['tls-key']) } : null;
const server = tls ? https.createServer(tls) : http.createServer();
server.on('request', (req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const url = new URL(req.url, 'http://x');
    if (url.pathname.startsWith('/__proxy/')) {
      const what = url.pathname.slice('/__proxy/'.length);
      if (what === 'fail') {
        failNext = Number(url.searchParams.get('count') || 1);
        failStatus = Number(url.searchParams.get('status') || 500);
      } else if (what === 'drop') {
        dropNext = Number(url.searchParams.get('count') || 1);
      } else if (what === 'hang') {
        hangNext = Number(url.searchParams.get('count') || 1);
        hangMatch = url.searchParams.get('match') || '';
      } else if (what === 'slow') {
        slowNext = Number(url.searchParams.get('count') || 1);
        slowDelayMs = Number(url.searchParams.get('delay_ms') || 1000);
      } else if (what === 'lose') {
        loseNext = Number(url.searchParams.get('count') || 1);
        loseMethod = url.searchParams.get('method') || '';
        loseMatch = url.searchParams.get('match') || '';
      } else if (what === 'conditional') {
        emulateIfNoneMatch = url.searchParams.get('on') === '1';
      } else if (what === 'reset') {
        resetStats();
        failNext = 0;
        dropNext = 0;
        loseNext = 0;
        hangNext = 0;
        slowNext = 0;
        emulateIfNoneMatch = false;
        for (const s of hanging) s.destroy();
        hanging.clear();
      } else if (what !== 'stats') {
        res.writeHead(404);
        res.end();
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(stats));
      return;
    }
    stats.requests++;
    stats.methods[req.method] = (stats.methods[req.method] || 0) + 1;
    if (hangNext > 0 && req.url.includes(hangMatch)) {
      hangNext--;
      stats.hung++;
      hanging.add(req.socket);
      req.socket.on('close', () => hanging.delete(req.socket));
      return;  // read, never answered, never closed
    }
    if (slowNext > 0) {
      slowNext--;
      stats.slowed++;
      setTimeout(() => handle(req, res, url, body), slowDelayMs);
      return;
    }
    handle(req, res, url, body);
  });
});

// Checks and forwards one S3 request (after any injected delay).
function handle(req, res, url, body) {
  if (req.socket.destroyed) return;  // the client gave up while the answer was delayed
  if (dropNext > 0) {
    dropNext--;
    stats.dropped++;
    req.socket.destroy();
    return;
  }
  if (failNext > 0) {
    failNext--;
    stats.injected++;
    s3Error(res, failStatus, failStatus === 503 || failStatus === 429 ? 'SlowDown' : 'InternalError', 'injected by sigv4_proxy');
    return;
  }
  const problem = verify(req, body);
  if (problem) {
    reject(res, ...problem);
    return;
  }
  const conditional = emulateIfNoneMatch && req.method === 'PUT' && req.headers['if-none-match'] === '*' &&
    !url.searchParams.has('uploadId');
  if (!conditional) {
    forward(req, res, body);
    return;
  }
  // Conditional PUTs of one key run one at a time: check, then write, like a server with
  // If-None-Match support does atomically.
  const prev = keyLocks.get(url.pathname) || Promise.resolve();
  const mine = prev.then(async () => {
    const exists = await upstreamExists(url.pathname);
    if (exists) {
      stats.preconditionFailed++;
      s3Error(res, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
      return;
    }
    await forward(req, res, body);
  });
  keyLocks.set(url.pathname, mine.catch(() => {}));
}

// Forwards to s3rver; resolves when the answer has been passed on (or lost on purpose).
function forward(req, res, body) {
  return new Promise((resolve) => {
    const headers = { ...req.headers };
    delete headers['expect'];
    headers['content-length'] = String(body.length);
    delete headers['transfer-encoding'];
    const up = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, (ures) => {
      if (loseNext > 0 && (!loseMethod || loseMethod === req.method) && req.url.includes(loseMatch)) {
        // The server did the work; the client never hears about it.
        loseNext--;
        stats.lost++;
        ures.resume();
        ures.on('end', () => { req.socket.destroy(); resolve(); });
        return;
      }
      res.writeHead(ures.statusCode, ures.headers);
      ures.pipe(res);
      ures.on('end', resolve);
    });
    up.on('error', (e) => { s3Error(res, 502, 'BadGateway', `upstream: ${e.message}`); resolve(); });
    stats.forwarded++;
    up.end(body);
  });
}

// HEAD on s3rver, signed with the known credentials.
function upstreamExists(path) {
  const opts = { host: `${upstream.hostname}:${upstream.port}`, path, method: 'HEAD', service: 's3', region,
    headers: { 'x-amz-content-sha256': crypto.createHash('sha256').update('').digest('hex') } };
  aws4.sign(opts, { accessKeyId: accessKey, secretAccessKey: secret });
  return new Promise((resolve, reject) => {
    const r = http.request({ host: upstream.hostname, port: upstream.port, method: 'HEAD', path, headers: opts.headers }, (ures) => {
      ures.resume();
      resolve(ures.statusCode === 200);
    });
    r.on('error', reject);
    r.end();
  });
}
server.keepAliveTimeout = 30000;
server.listen(port, '127.0.0.1', () => process.stdout.write(`listening ${port}\n`));
