// Static check of docker-compose.yml and the Dockerfile against the cdcpipe binary (no Docker engine
// is needed or used):   node compose_check.mjs CDCPIPE_BIN COMPOSE_FILE DOCKERFILE
// Prints one line per problem and exits 1 when there is any; prints a summary and exits 0 otherwise.
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import YAML from 'yaml';

const [bin, composePath, dockerfilePath] = process.argv.slice(2);
if (!bin || !composePath || !dockerfilePath) {
  console.error('usage: compose_check.mjs CDCPIPE_BIN COMPOSE_FILE DOCKERFILE');
  process.exit(2);
}
const problems = [];
const problem = msg => problems.push(msg);

const doc = YAML.parse(fs.readFileSync(composePath, 'utf8'), { merge: true });
const services = doc.services || {};
const names = new Set(Object.keys(services));
if (!names.size) problem('no services');

// ---- depends_on: targets exist, conditions make sense ------------------------------------------------
const deps = {};
for (const [name, s] of Object.entries(services)) {
  const d = s.depends_on || {};
  if (Array.isArray(d)) problem(`${name}: depends_on must name a condition for each service (no start-order-only deps)`);
  deps[name] = Array.isArray(d) ? d : Object.keys(d);
  for (const [target, spec] of Array.isArray(d) ? [] : Object.entries(d)) {
    if (!names.has(target)) { problem(`${name}: depends_on unknown service '${target}'`); continue; }
    const cond = spec && spec.condition;
    if (!['service_healthy', 'service_completed_successfully', 'service_started'].includes(cond))
      problem(`${name}: depends_on ${target} has no valid condition (${cond})`);
    if (cond === 'service_healthy' && !services[target].healthcheck)
      problem(`${name}: waits for ${target} to be healthy but ${target} has no healthcheck`);
    if (cond === 'service_started')
      problem(`${name}: depends_on ${target} only waits for a start; use service_healthy or service_completed_successfully`);
  }
}
function reaches(from, to, seen = new Set()) {
  if (from === to) return true;
  if (seen.has(from)) return false;
  seen.add(from);
  return (deps[from] || []).some(d => reaches(d, to, seen));
}

// ---- the binary's accepted flags per subcommand ------------------------------------------------------
const helpCache = {};
function helpOf(sub) {
  if (sub in helpCache) return helpCache[sub];
  try {
    const out = execFileSync(bin, [sub, '--help'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    // An unknown word makes CLI11 print the top-level help and exit 0: require the subcommand's usage line.
    const usage = out.match(/^Usage: \S+ (\S+)/m);
    helpCache[sub] = usage && usage[1] === sub ? out : null;
  } catch (e) {
    helpCache[sub] = null;
  }
  return helpCache[sub];
}
function acceptedFlags(help) {
  const flags = new Set();
  for (const line of help.split('\n')) {
    const m = line.match(/^\s+(-[^\s]+(?:,\s*-[^\s]+)*)/);
    if (!m) continue;
    for (const f of m[1].split(',')) flags.add(f.trim());
  }
  return flags;
}
const invocations = [];
function splitShell(cmd) {
  // Words of a simple shell command line (quotes handled; enough for compose entrypoints).
  const out = []; let cur = ''; let q = null; let has = false;
  for (const c of cmd) {
    if (q) { if (c === q) q = null; else cur += c; continue; }
    if (c === '"' || c === "'") { q = c; has = true; continue; }
    if (/\s/.test(c)) { if (cur || has) out.push(cur); cur = ''; has = false; continue; }
    cur += c;
  }
  if (cur || has) out.push(cur);
  return out;
}
function collectFromShell(service, where, script) {
  for (const part of script.split(/&&|\|\||;|\n|\bdo\b|\bthen\b/)) {
    const words = splitShell(part.trim());
    // Only where cdcpipe is the command ("pg_isready -d cdcpipe" is not an invocation).
    if (words[0] === 'cdcpipe') invocations.push({ service, where, argv: words.slice(1) });
  }
}
for (const [name, s] of Object.entries(services)) {
  const isCdcpipe = (s.image || '').startsWith('cdcpipe') || s.build !== undefined;
  if (isCdcpipe) {
    if (s.entrypoint) {
      const ep = Array.isArray(s.entrypoint) ? s.entrypoint : ['/bin/sh', '-c', s.entrypoint];
      if (ep[0].endsWith('sh') && ep[1] === '-c') collectFromShell(name, 'entrypoint', ep.slice(2).join(' '));
      else if (ep[0] === 'cdcpipe') invocations.push({ service: name, where: 'entrypoint', argv: ep.slice(1) });
      else problem(`${name}: entrypoint does not run cdcpipe`);
    } else if (s.command) {
      const cmd = Array.isArray(s.command) ? s.command : splitShell(s.command);
      invocations.push({ service: name, where: 'command', argv: cmd });
    } else {
      problem(`${name}: a cdcpipe service without a command`);
    }
  }
  const hc = s.healthcheck && s.healthcheck.test;
  if (Array.isArray(hc)) {
    if (hc[0] === 'CMD' && hc[1] === 'cdcpipe') invocations.push({ service: name, where: 'healthcheck', argv: hc.slice(2) });
    if (hc[0] === 'CMD-SHELL') collectFromShell(name, 'healthcheck', hc.slice(1).join(' '));
  }
}
const subcommandsUsed = new Set();
for (const inv of invocations) {
  const [sub, ...args] = inv.argv;
  const tag = `${inv.service} (${inv.where}): cdcpipe ${sub}`;
  const help = helpOf(sub);
  if (help === null) { problem(`${tag}: the binary has no subcommand '${sub}' (\`${bin} ${sub} --help\` failed)`); continue; }
  subcommandsUsed.add(sub);
  const flags = acceptedFlags(help);
  for (const a of args) {
    if (!a.startsWith('-')) continue;
    const flag = a.includes('=') ? a.slice(0, a.indexOf('=')) : a;
    if (!flags.has(flag)) problem(`${tag}: flag ${flag} is not accepted (see \`cdcpipe ${sub} --help\`)`);
  }
  const comp = args.indexOf('--component');
  if (comp >= 0) {
    const allowed = (help.match(/--component TEXT:\{([^}]*)\}/) || [])[1];
    if (!allowed || !allowed.split(',').includes(args[comp + 1])) problem(`${tag}: --component ${args[comp + 1]} is not accepted`);
  }
}

// ---- ports, hosts and credentials agree ---------------------------------------------------------------
function listenPorts(name) {
  const s = services[name]; const env = s.environment || {}; const ports = new Set();
  if ((s.image || '').startsWith('postgres')) ports.add(5432);
  if ((s.image || '').startsWith('apache/kafka')) {
    for (const l of String(env.KAFKA_LISTENERS || '').split(',')) { const m = l.match(/:(\d+)$/); if (m) ports.add(+m[1]); }
  }
  if ((s.image || '').startsWith('minio/minio')) {
    const cmd = s.command || []; const i = cmd.indexOf('--address');
    ports.add(i >= 0 ? +String(cmd[i + 1]).split(':').pop() : 9000);
  }
  return ports;
}
function checkEndpoint(service, what, host, port) {
  if (!names.has(host)) { problem(`${service}: ${what} names host '${host}', which is not a service`); return; }
  if (!listenPorts(host).has(+port)) problem(`${service}: ${what} uses ${host}:${port}, but ${host} listens on ${[...listenPorts(host)].join(', ') || 'nothing known'}`);
  if (service !== host && !reaches(service, host)) problem(`${service}: uses ${host} but does not depend on it (directly or through others)`);
}
const pg = Object.entries(services).find(([, s]) => (s.image || '').startsWith('postgres'));
const minio = Object.entries(services).find(([, s]) => (s.image || '').startsWith('minio/minio'));
const kafka = Object.entries(services).find(([, s]) => (s.image || '').startsWith('apache/kafka'));
if (!pg) problem('no postgres service'); if (!minio) problem('no MinIO service'); if (!kafka) problem('no Kafka service');
if (pg && !(pg[1].image === 'postgres:15')) problem(`postgres image is ${pg[1].image}, expected postgres:15`);
if (pg && !JSON.stringify(pg[1].command || '').includes('wal_level=logical')) problem('postgres does not set wal_level=logical');
if (kafka) {
  const env = kafka[1].environment || {};
  if (Object.keys(env).some(k => k.includes('ZOOKEEPER'))) problem('Kafka is configured with ZooKeeper; KRaft expected');
  if (!String(env.KAFKA_PROCESS_ROLES || '').includes('controller')) problem('Kafka has no KRaft controller role');
  const adv = String(env.KAFKA_ADVERTISED_LISTENERS || '').match(/PLAINTEXT:\/\/([^:,]+):(\d+)/);
  if (!adv || adv[1] !== kafka[0]) problem(`Kafka advertises ${adv ? adv[1] : 'nothing'}, clients in the network reach it as '${kafka[0]}'`);
}
const buckets = new Set();
for (const [name, s] of Object.entries(services)) {
  const env = s.environment || {};
  if (env.CDCPIPE_DB) {
    const u = new URL(env.CDCPIPE_DB);
    checkEndpoint(name, 'CDCPIPE_DB', u.hostname, u.port || 5432);
    const pe = pg ? pg[1].environment || {} : {};
    if (decodeURIComponent(u.username) !== (pe.POSTGRES_USER || 'postgres')) problem(`${name}: CDCPIPE_DB user ${u.username} is not POSTGRES_USER`);
    if (decodeURIComponent(u.password) !== pe.POSTGRES_PASSWORD) problem(`${name}: CDCPIPE_DB password differs from POSTGRES_PASSWORD`);
    if (u.pathname.slice(1) !== (pe.POSTGRES_DB || pe.POSTGRES_USER)) problem(`${name}: CDCPIPE_DB database ${u.pathname.slice(1)} is not POSTGRES_DB`);
  }
  if (env.CDCPIPE_S3_ENDPOINT) {
    const u = new URL(env.CDCPIPE_S3_ENDPOINT);
    checkEndpoint(name, 'CDCPIPE_S3_ENDPOINT', u.hostname, u.port || 80);
  }
  const me = minio ? minio[1].environment || {} : {};
  if ('AWS_ACCESS_KEY_ID' in env && env.AWS_ACCESS_KEY_ID !== me.MINIO_ROOT_USER) problem(`${name}: AWS_ACCESS_KEY_ID differs from MINIO_ROOT_USER`);
  if ('AWS_SECRET_ACCESS_KEY' in env && env.AWS_SECRET_ACCESS_KEY !== me.MINIO_ROOT_PASSWORD) problem(`${name}: AWS_SECRET_ACCESS_KEY differs from MINIO_ROOT_PASSWORD`);
  if ('MINIO_ROOT_USER' in env && name !== (minio && minio[0]) && (env.MINIO_ROOT_USER !== me.MINIO_ROOT_USER || env.MINIO_ROOT_PASSWORD !== me.MINIO_ROOT_PASSWORD))
    problem(`${name}: MinIO credentials differ from the minio service's`);
  const text = JSON.stringify([s.entrypoint || '', s.command || '']);
  for (const m of text.matchAll(/mc mb (?:--ignore-existing )?\w+\/([a-z0-9.-]+)/g)) buckets.add(m[1]);
  for (const m of text.matchAll(/http:\/\/([a-z0-9_-]+):(\d+)/g)) checkEndpoint(name, 'a URL', m[1], m[2]);
}
for (const inv of invocations) {
  const a = inv.argv;
  const i = a.indexOf('--brokers');
  if (i >= 0) for (const hp of String(a[i + 1]).split(',')) { const [h, p] = hp.split(':'); checkEndpoint(inv.service, '--brokers', h, p); }
  const o = a.indexOf('--output');
  if (o >= 0 && String(a[o + 1]).startsWith('s3://')) {
    const bucket = String(a[o + 1]).slice(5).split('/')[0];
    if (!buckets.has(bucket)) problem(`${inv.service}: writes to s3://${bucket}, which no service creates (mc mb)`);
    if (!reaches(inv.service, [...names].find(n => JSON.stringify(services[n].entrypoint || '').includes('mc mb')) || ''))
      problem(`${inv.service}: uses bucket ${bucket} without depending on the service that creates it`);
  }
}
for (const b of ['processed-data']) if (!buckets.has(b)) problem(`the ${b} bucket is not created`);
const published = new Map();
for (const [name, s] of Object.entries(services)) {
  for (const p of s.ports || []) {
    const host = String(p).split(':')[0];
    if (published.has(host)) problem(`host port ${host} published by ${published.get(host)} and ${name}`);
    published.set(host, name);
    const target = +String(p).split(':').pop();
    if (!listenPorts(name).has(target) && !(name === (minio && minio[0]) && target === 9001))
      problem(`${name}: publishes container port ${target}, where nothing listens`);
  }
}
for (const need of ['capture', 'stream', 'batch']) {
  if (!subcommandsUsed.has(need) && !invocations.some(i => i.argv[0] === need)) problem(`no service runs cdcpipe ${need}`);
}
for (const [name, s] of Object.entries(services)) {
  if (['capture', 'stream', 'batch'].includes(name) && !s.healthcheck) problem(`${name}: no healthcheck`);
  const text = JSON.stringify([s.entrypoint || '', s.command || '']);
  // A sleep before starting is ordering by time; only a periodic loop (sleep after the work) is allowed.
  if (/^\[?"?[^"]*sleep \d/.test(text) || /sleep [^;]*&&\s*cdcpipe/.test(text)) problem(`${name}: orders start-up with sleep`);
}

// ---- Dockerfile ---------------------------------------------------------------------------------------
const df = fs.readFileSync(dockerfilePath, 'utf8');
const froms = [...df.matchAll(/^FROM\s+(\S+)/gm)].map(m => m[1]);
if (froms.length < 2) problem('Dockerfile is not multi-stage');
if (!froms.every(f => /^debian:12(-slim)?$/.test(f))) problem(`Dockerfile bases ${froms.join(', ')}: Debian 12 expected`);
const user = [...df.matchAll(/^USER\s+(\S+)/gm)].map(m => m[1]).pop();
if (!user || /^(root|0)(:|$)/.test(user)) problem('Dockerfile does not switch to a non-root USER');

if (problems.length) {
  for (const p of problems) console.log('PROBLEM ' + p);
  process.exit(1);
}
console.log(`ok: ${names.size} services, ${invocations.length} cdcpipe invocations (${[...subcommandsUsed].sort().join(', ')}), Dockerfile stages ${froms.join(' -> ')}`);
