// Static check of docker-compose.yml, the config file its cdcpipe services mount and the Dockerfile
// against the cdcpipe binary (no Docker engine is needed or used):
//   node compose_check.mjs CDCPIPE_BIN COMPOSE_FILE DOCKERFILE
// The config file is the one the compose file mounts (bind-mount sources are relative to the compose
// file's directory). Prints one line per problem and exits 1 when there is any; prints a summary and
// exits 0 otherwise.
import fs from 'node:fs';
import path from 'node:path';
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
// The names `--component` takes: "--component TEXT:{a,b}", or a description such as "Only these checks
// (repeatable): postgres, capture, ...; or the seed's names debezium (capture), minio (storage)".
function componentsOf(help) {
  const set = help.match(/--component TEXT:\{([^}]*)\}/);
  if (set) return set[1].split(',');
  const lines = help.split('\n');
  const at = lines.findIndex(l => /^\s+--component\b/.test(l));
  if (at < 0) return [];
  let desc = lines[at].replace(/^\s+--component\s+\S+(\s+\.\.\.)?/, '');
  for (let i = at + 1; i < lines.length && /^\s{6,}\S/.test(lines[i]) && !/^\s+-/.test(lines[i]); i++) desc += ' ' + lines[i];
  desc = desc.slice(desc.indexOf(':') + 1).replace(/\([^)]*\)/g, '');
  return desc.split(/[,;]/).map(p => p.trim().split(/\s+/).pop()).filter(w => /^[a-z]+$/.test(w));
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
const isCdcpipe = s => (s.image || '').startsWith('cdcpipe') || s.build !== undefined;
for (const [name, s] of Object.entries(services)) {
  if (isCdcpipe(s)) {
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
  if (comp >= 0 && !componentsOf(help).includes(args[comp + 1])) problem(`${tag}: --component ${args[comp + 1]} is not accepted`);
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
const pgEnv = pg ? pg[1].environment || {} : {};
const minioEnv = minio ? minio[1].environment || {} : {};
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
let bucketMaker = '';
for (const [name, s] of Object.entries(services)) {
  const env = s.environment || {};
  if ('PGPASSWORD' in env && String(env.PGPASSWORD) !== String(pgEnv.POSTGRES_PASSWORD)) problem(`${name}: PGPASSWORD differs from POSTGRES_PASSWORD`);
  if ('AWS_ACCESS_KEY_ID' in env && env.AWS_ACCESS_KEY_ID !== minioEnv.MINIO_ROOT_USER) problem(`${name}: AWS_ACCESS_KEY_ID differs from MINIO_ROOT_USER`);
  if ('AWS_SECRET_ACCESS_KEY' in env && env.AWS_SECRET_ACCESS_KEY !== minioEnv.MINIO_ROOT_PASSWORD) problem(`${name}: AWS_SECRET_ACCESS_KEY differs from MINIO_ROOT_PASSWORD`);
  if ('MINIO_ROOT_USER' in env && name !== (minio && minio[0]) && (env.MINIO_ROOT_USER !== minioEnv.MINIO_ROOT_USER || env.MINIO_ROOT_PASSWORD !== minioEnv.MINIO_ROOT_PASSWORD))
    problem(`${name}: MinIO credentials differ from the minio service's`);
  const text = JSON.stringify([s.entrypoint || '', s.command || '']);
  for (const m of text.matchAll(/mc mb (?:--ignore-existing )?\w+\/([a-z0-9.-]+)/g)) { buckets.add(m[1]); bucketMaker = name; }
  for (const m of text.matchAll(/http:\/\/([a-z0-9_-]+):(\d+)/g)) checkEndpoint(name, 'a URL', m[1], m[2]);
}

// ---- the config file every cdcpipe service mounts -----------------------------------------------------
// Each cdcpipe service sets $CDCPIPE_CONFIG to the target of a read-only bind mount of one file of the
// repository; `cdcpipe config` must accept that file, and it must hold no password.
function mounts(s) {
  return (s.volumes || []).map(v => {
    if (typeof v === 'string') {
      const [source, target, mode] = v.split(':');
      return { source, target, readOnly: (mode || '').split(',').includes('ro') };
    }
    return { source: v.source, target: v.target, readOnly: v.read_only === true };
  });
}
const composeDir = path.dirname(path.resolve(composePath));
const configOf = {};   // service -> { file (as written), abs }
for (const [name, s] of Object.entries(services)) {
  if (!isCdcpipe(s)) continue;
  const target = (s.environment || {}).CDCPIPE_CONFIG;
  if (!target) { problem(`${name}: CDCPIPE_CONFIG is not set (every cdcpipe service reads the mounted config file)`); continue; }
  const m = mounts(s).find(v => v.target === target);
  if (!m) { problem(`${name}: CDCPIPE_CONFIG is ${target}, but no volume is mounted there (the config file is not mounted)`); continue; }
  if (!m.readOnly) problem(`${name}: the config file is mounted at ${target} without :ro (read-only)`);
  const abs = path.resolve(composeDir, m.source);
  if (!/^\.{0,2}\//.test(m.source)) problem(`${name}: ${target} is mounted from '${m.source}', not a file of the repository`);
  else if (!fs.existsSync(abs) || !fs.statSync(abs).isFile()) problem(`${name}: mounts ${m.source} at ${target}, which does not exist in the repository`);
  else configOf[name] = { file: m.source, abs };
}
const configFiles = [...new Set(Object.values(configOf).map(c => c.abs))];
if (configFiles.length > 1) problem(`the cdcpipe services mount different config files: ${[...new Set(Object.values(configOf).map(c => c.file))].join(', ')}`);
const resolved = {};   // abs path -> the config as `cdcpipe config` resolves it (null when rejected)
for (const abs of configFiles) {
  const file = Object.values(configOf).find(c => c.abs === abs).file;
  // The file alone: none of the caller's CDCPIPE_* / PG* variables.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(CDCPIPE_|PG|AWS_)/.test(k)));
  try {
    // From the compose file's directory, as `cdcpipe config --config deploy/...` from the repository.
    const out = execFileSync(path.resolve(bin), ['config', '--config', file], { cwd: composeDir, encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });
    resolved[abs] = YAML.parse(out);
  } catch (e) {
    const why = String(e.stderr || e.message).trim().split('\n')[0];
    problem(`${file}: \`cdcpipe config --config ${file}\` exits ${e.status}: ${why}`);
    resolved[abs] = null;
  }
  let raw = null;
  try { raw = YAML.parse(fs.readFileSync(abs, 'utf8')); } catch (e) { problem(`${file}: not YAML: ${e.message.split('\n')[0]}`); }
  const url = String((raw && raw.source && raw.source.url) || '');
  if (/\bpassword\s*=/.test(url) || (/^postgres(ql)?:\/\//.test(url) && new URL(url).password))
    problem(`${file}: source.url holds a password; use PGPASSWORD in the environment`);
  const listen = resolved[abs] && resolved[abs].http && String(resolved[abs].http.listen);
  if (listen && listen !== 'off' && !invocations.some(i => i.argv[0] === 'run'))
    problem(`${file}: http.listen is ${listen}, but no service runs \`cdcpipe run\` there; set it to off so that \`cdcpipe status\` checks each component`);
}

// ---- what each invocation connects to: flag, else environment, else the config file ------------------
function setting(inv, flag, envVar, key) {
  const a = inv.argv; const i = a.indexOf(flag);
  if (i >= 0) return { value: String(a[i + 1]), from: flag };
  const env = services[inv.service].environment || {};
  if (envVar && env[envVar]) return { value: String(env[envVar]), from: envVar };
  const c = configOf[inv.service];
  const r = c && helpOf(inv.argv[0]) && acceptedFlags(helpOf(inv.argv[0])).has('--config') ? resolved[c.abs] : undefined;
  if (r === null) return { value: null, from: `${key} (${c.file}, rejected above)` };
  const [section, name] = key.split('.');
  let v = r && r[section] ? r[section][name] : undefined;
  if (Array.isArray(v)) v = v.join(',');
  return v ? { value: String(v), from: `${key} (${c.file})` } : null;
}
// `cdcpipe status --component stream` (or analytics, kafka, storage and the seed's spark, minio) does
// not log in to PostgreSQL; every other use of the database does.
function connectsToPostgres(argv) {
  if (argv[0] !== 'status') return true;
  const comps = argv.flatMap((a, i) => (argv[i - 1] === '--component' ? [a] : []));
  return !comps.length || comps.some(c => ['postgres', 'capture', 'debezium'].includes(c));
}
for (const inv of invocations) {
  const sub = inv.argv[0];
  const help = helpOf(sub);
  if (help === null) continue;
  const flags = acceptedFlags(help);
  const s = services[inv.service]; const env = s.environment || {};
  const tag = `${inv.service} (${inv.where}): cdcpipe ${sub}`;
  if (env.CDCPIPE_CONFIG && !flags.has('--config'))
    problem(`${tag} does not read the config file (\`cdcpipe ${sub} --help\` has no --config): its settings must be flags`);
  if (flags.has('--db')) {
    const db = setting(inv, '--db', 'CDCPIPE_DB', 'source.url');
    if (!db) problem(`${tag}: no database (no --db, CDCPIPE_DB or source.url): libpq would use a local socket`);
    else if (db.value !== null && /^postgres(ql)?:\/\//.test(db.value)) {
      const u = new URL(db.value);
      checkEndpoint(inv.service, db.from, u.hostname, u.port || 5432);
      if (decodeURIComponent(u.username) !== (pgEnv.POSTGRES_USER || 'postgres')) problem(`${tag}: ${db.from} user ${u.username} is not POSTGRES_USER`);
      if (u.pathname.slice(1) !== (pgEnv.POSTGRES_DB || pgEnv.POSTGRES_USER)) problem(`${tag}: ${db.from} database ${u.pathname.slice(1)} is not POSTGRES_DB`);
      if (u.password) {
        if (decodeURIComponent(u.password) !== pgEnv.POSTGRES_PASSWORD) problem(`${tag}: the password in ${db.from} differs from POSTGRES_PASSWORD`);
      } else if (!('PGPASSWORD' in env) && connectsToPostgres(inv.argv))
        problem(`${tag}: no database password: set PGPASSWORD (= POSTGRES_PASSWORD)`);
    }
  }
  if (flags.has('--brokers')) {
    const b = setting(inv, '--brokers', 'CDCPIPE_BROKERS', 'kafka.brokers');
    if (b) for (const hp of b.value === null ? [] : b.value.split(',')) { const [h, p] = hp.trim().split(':'); checkEndpoint(inv.service, b.from, h, p); }
    else if (['capture', 'stream'].includes(sub)) problem(`${tag}: no Kafka brokers (no --brokers, CDCPIPE_BROKERS or kafka.brokers)`);
  }
  const out = flags.has('--output') ? setting(inv, '--output', '', 'output.root') : null;
  if (out && out.value !== null && out.value.startsWith('s3://')) {
    const bucket = out.value.slice(5).split('/')[0];
    if (!buckets.has(bucket)) problem(`${tag}: ${out.from} is s3://${bucket}, which no service creates (mc mb)`);
    else if (!reaches(inv.service, bucketMaker)) problem(`${inv.service}: uses bucket ${bucket} without depending on the service that creates it`);
    const ep = setting(inv, '--s3-endpoint', 'CDCPIPE_S3_ENDPOINT', 'output.s3_endpoint');
    if (!ep) problem(`${tag}: ${out.value} without an S3 endpoint: it would go to AWS, not MinIO`);
    else if (ep.value !== null) { const u = new URL(ep.value); checkEndpoint(inv.service, ep.from, u.hostname, u.port || 80); }
    if (!env.AWS_ACCESS_KEY_ID || !env.AWS_SECRET_ACCESS_KEY) problem(`${tag}: writes to ${out.value} without AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY`);
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
// The runtime stage installs the Debian package of every shared library the binary links (as this
// machine's Debian 12 names them), beyond what debian:12-slim already has.
const runtime = df.slice(df.lastIndexOf('\nFROM'));
const installed = new Set(runtime.replace(/\\\n/g, ' ').split(/\s+/));
const libs = [...execFileSync('ldd', [bin], { encoding: 'utf8' }).matchAll(/=>\s+(\/\S+)/g)].map(m => m[1]);
// One dpkg query for all of them (each query reads every package's file list), by exact paths (a glob
// is several times slower), in both forms: with the merged /usr, ldd's /lib/... path need not be the
// one dpkg recorded.
const patterns = libs.flatMap(l => [l, l.startsWith('/usr/') ? l.slice(4) : '/usr' + l]);
let owners = '';
try { owners = execFileSync('dpkg', ['-S', ...patterns], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }); }
catch (e) { owners = String(e.stdout || ''); }
for (const lib of libs) {
  const line = owners.split('\n').find(l => l.endsWith('/' + path.basename(lib)));
  if (!line) { problem(`Dockerfile: no Debian package owns ${lib}, which cdcpipe links`); continue; }
  const owner = line.split(/[:,]/)[0];
  if (!['libc6', 'libstdc++6', 'libgcc-s1'].includes(owner) && !installed.has(owner))
    problem(`Dockerfile: the runtime stage does not install ${owner} (${path.basename(lib)}, which cdcpipe links)`);
}
const user = [...df.matchAll(/^USER\s+(\S+)/gm)].map(m => m[1]).pop();
if (!user || /^(root|0)(:|$)/.test(user)) problem('Dockerfile does not switch to a non-root USER');

if (problems.length) {
  for (const p of new Set(problems)) console.log('PROBLEM ' + p);
  process.exit(1);
}
console.log(`ok: ${names.size} services, ${invocations.length} cdcpipe invocations (${[...subcommandsUsed].sort().join(', ')}), config ${[...new Set(Object.values(configOf).map(c => c.file))].join(', ')} mounted by ${Object.keys(configOf).length} services, Dockerfile stages ${froms.join(' -> ')}`);
