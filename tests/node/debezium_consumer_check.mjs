// The consumer check of issue 17 (tests/debezium_types_test.cc): a Debezium consumer written without cdcpipe's code
// decodes every record back into the values PostgreSQL holds.
//
//   node debezium_consumer_check.mjs RECORDS ROWS GOLDEN
//
// RECORDS: JSON lines {config, id, value} (value = the Kafka record value, JsonConverter with schemas).
// ROWS:    JSON lines, one per table row, each column as PostgreSQL's text output (arrays: a list of element texts,
//          plus <col>_isnull), as psql printed it.
// GOLDEN:  tests/golden/debezium/all_types.json, for the column types and each config's switches (what a consumer
//          knows about its source).
// DuckDB's JSON functions read every field's raw JSON text (so 64-bit integers keep every digit); the decoding from
// Debezium's semantic types (io.debezium.time.*, Decimal, Bits, Point ...) is written here from Debezium's
// documentation. Lossy forms (milliseconds, doubles) are compared at their own precision. Prints
// "checked N values" and exits 1 on the first 50 mismatches listed.
import { readFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';

const [recordsPath, rowsPath, goldenPath] = process.argv.slice(2);
const golden = JSON.parse(readFileSync(goldenPath, 'utf8'));
const typeOf = Object.fromEntries(golden.columns.map((c) => [c.name, c.type]));
const switchesOf = Object.fromEntries(golden.configs.map((c) => [c.name, c.switches]));
const rows = new Map();
for (const line of readFileSync(rowsPath, 'utf8').split('\n')) {
  if (line.trim()) { const r = JSON.parse(line); rows.set(r.id, r); }
}

const db = await DuckDBInstance.create(':memory:');
const conn = await db.connect();
const reader = await conn.runAndReadAll(`
  SELECT r.config, r.id, e.key, e.value::VARCHAR AS raw,
         CASE WHEN e.type = 'ARRAY' THEN (SELECT list(a.value::VARCHAR ORDER BY TRY_CAST(a.key AS INTEGER)) FROM json_each(e.value) a) END AS elems,
         json_extract(r.value::JSON, '$.schema.fields[1].fields')::VARCHAR AS fields
  FROM read_json('${recordsPath}', format = 'newline_delimited',
                 columns = {config: 'VARCHAR', id: 'INTEGER', value: 'VARCHAR'}) r,
       json_each(json_extract(r.value::JSON, '$.payload.after')) e
  WHERE e.key <> 'id'`);

// ---- PostgreSQL text forms -> numbers ----
const DAY_US = 86400000000n;
// days since 1970-01-01 of a proleptic Gregorian (astronomical) date (H. Hinnant's days_from_civil).
function daysFromCivil(y, m, d) {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}
function pgDate(text) {  // '2024-01-02', '4713-01-01 BC' -> days
  const m = /^(\d+)-(\d\d)-(\d\d)( BC)?$/.exec(text);
  if (!m) throw new Error(`not a date: ${text}`);
  const y = m[4] ? 1 - Number(m[1]) : Number(m[1]);
  return daysFromCivil(y, Number(m[2]), Number(m[3]));
}
function timeMicros(h, mi, s, frac) {
  return ((BigInt(h) * 60n + BigInt(mi)) * 60n + BigInt(s)) * 1000000n + BigInt((frac || '').padEnd(6, '0').slice(0, 6) || '0');
}
function pgOffsetMicros(sign, hh, mm) {
  const v = (BigInt(hh) * 60n + BigInt(mm || 0)) * 60000000n;
  return sign === '-' ? -v : v;
}
// timestamp[tz] text -> microseconds since the epoch (UTC for timestamptz).
function pgTimestamp(text) {
  const m = /^(\d+)-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:([+-])(\d\d)(?::(\d\d))?)?( BC)?$/.exec(text);
  if (!m) throw new Error(`not a timestamp: ${text}`);
  const y = m[11] ? 1 - Number(m[1]) : Number(m[1]);
  const local = BigInt(daysFromCivil(y, Number(m[2]), Number(m[3]))) * DAY_US + timeMicros(m[4], m[5], m[6], m[7]);
  return m[8] ? local - pgOffsetMicros(m[8], m[9], m[10]) : local;
}
function pgTime(text) {  // time[tz] -> microseconds of the (UTC) day
  const m = /^(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:([+-])(\d\d)(?::(\d\d))?)?$/.exec(text);
  if (!m) throw new Error(`not a time: ${text}`);
  let v = timeMicros(m[1], m[2], m[3], m[4]);
  if (m[5]) v = (((v - pgOffsetMicros(m[5], m[6], m[7])) % DAY_US) + DAY_US) % DAY_US;
  return v;
}
// A decimal text -> [unscaled BigInt, scale].
function decimal(text) {
  const m = /^(-?)(\d*)(?:\.(\d*))?$/.exec(text);
  if (!m) throw new Error(`not a decimal: ${text}`);
  const frac = m[3] || '';
  return [BigInt(m[1] + (m[2] + frac || '0')), frac.length];
}
function sameDecimal([a, as], [b, bs]) {
  const s = Math.max(as, bs);
  return a * 10n ** BigInt(s - as) === b * 10n ** BigInt(s - bs);
}
const moneyText = (t) => t.replace(/[$,]/g, '');  // lc_monetary C: -$1,234.50
// Debezium's MicroDuration of a PostgreSQL interval (IntervalStyle postgres): ((years * 12 + months) * 30.4375 + days)
// days plus the time, in doubles, cast to long (saturating).
function pgIntervalFields(text) {
  let years = 0, months = 0, days = 0, secs = 0;
  const re = /(-?\d+) (year|mon|day)s?|([+-]?)(\d+):(\d\d):(\d\d(?:\.\d+)?)/g;
  for (const m of text.matchAll(re)) {
    if (m[2] === 'year') years = Number(m[1]);
    else if (m[2] === 'mon') months = Number(m[1]);
    else if (m[2] === 'day') days = Number(m[1]);
    else secs = (m[3] === '-' ? -1 : 1) * (Number(m[4]) * 3600 + Number(m[5]) * 60 + Number(m[6]));
  }
  return { years, months, days, secs };
}
function pgIntervalMicroDuration(text) {
  const { years, months, days, secs } = pgIntervalFields(text);
  const micros = (((years * 12 + months) * 30.4375 + days) * 86400 + secs) * 1e6;
  if (micros >= 9223372036854775807) return 9223372036854775807n;
  if (micros <= -9223372036854775808) return -9223372036854775808n;
  return BigInt(Math.trunc(micros));
}
function bitsValue(bytes) {  // io.debezium.data.Bits: little-endian
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]);
  return v;
}
function unscaled(b64) {  // Kafka Connect Decimal: big-endian two's complement
  const bytes = Buffer.from(b64, 'base64');
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  if (bytes.length && bytes[0] & 0x80) v -= 1n << BigInt(8 * bytes.length);
  return v;
}
// ISO 8601 'YYYY-MM-DDTHH:MM:SS[.f]Z' (years may carry a sign) -> microseconds since the epoch.
function isoTimestamp(s) {
  const m = /^([+-]?\d{4,})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?Z$/.exec(s);
  if (!m) throw new Error(`not an ISO timestamp: ${s}`);
  return BigInt(daysFromCivil(Number(m[1]), Number(m[2]), Number(m[3]))) * DAY_US + timeMicros(m[4], m[5], m[6], m[7]);
}
const PG_INFINITY_US = 9223372036825200000n;  // pgjdbc's DATE_POSITIVE_INFINITY, what Debezium sends
const PG_NEG_INFINITY_US = -9223372036832400000n;
function floatSame(got, pg, single) {
  const g = typeof got === 'string' ? Number(got) : got;  // "NaN", "Infinity" are quoted
  const p = Number(pg);
  if (Number.isNaN(p)) return Number.isNaN(g);
  return single ? Math.fround(g) === Math.fround(p) : g === p;
}

// Does `raw` (the field's JSON text) under `schema` decode to PostgreSQL's text `pg` of type `type`?
function matches(type, schema, raw, pg, sw) {
  if (raw === 'null') return pg === null || (/^numeric|^money/.test(type) && /NaN|Infinity/.test(pg) &&
                                             (sw['decimal.handling.mode'] ?? 'precise') === 'precise');
  if (pg === null) return false;
  const name = schema.name || '';
  const base = type.replace(/\(.*\)/, '');
  switch (base) {
    case 'int2': case 'int4': case 'int8': case 'oid': return BigInt(raw) === BigInt(pg);
    case 'float4': case 'float8': return floatSame(JSON.parse(raw), pg, base === 'float4');
    case 'bool': return raw === (pg === 't' ? 'true' : 'false');
    case 'numeric': case 'money': {
      const text = base === 'money' ? moneyText(pg) : pg;
      const mode = sw['decimal.handling.mode'] ?? 'precise';
      if (mode === 'double') return floatSame(JSON.parse(raw), text, false);
      if (mode === 'string') {
        const v = JSON.parse(raw);
        const special = { NAN: 'NaN', POSITIVE_INFINITY: 'Infinity', NEGATIVE_INFINITY: '-Infinity' }[v];
        if (special) return special === text;
        return base === 'money' ? Number(v) === Number(text) : sameDecimal(decimal(v), decimal(text));
      }
      if (name === 'io.debezium.data.VariableScaleDecimal') {
        const v = JSON.parse(raw);
        return sameDecimal([unscaled(v.value), v.scale], decimal(text));
      }
      if (name !== 'org.apache.kafka.connect.data.Decimal') return false;
      return sameDecimal([unscaled(JSON.parse(raw)), Number(schema.parameters.scale)], decimal(text));
    }
    case 'bytea': {
      const v = JSON.parse(raw);
      const mode = sw['binary.handling.mode'] ?? 'bytes';
      const bytes = mode === 'hex' ? Buffer.from(v, 'hex') : Buffer.from(v, mode === 'base64-url-encoded' ? 'base64url' : 'base64');
      return '\\x' + bytes.toString('hex') === pg;
    }
    case 'date': {
      if (!/Date$/.test(name)) return false;
      const v = Number(raw);
      if (pg === 'infinity') return v === 2147483647;  // cdcpipe's choice (golden: not pinned)
      if (pg === '-infinity') return v === -2147483648;
      return v === pgDate(pg);
    }
    case 'time': {
      const micros = name === 'io.debezium.time.MicroTime';
      if (!micros && !/\.Time$/.test(name)) return false;
      return micros ? BigInt(raw) === pgTime(pg) : BigInt(raw) === pgTime(pg) / 1000n;
    }
    case 'timetz': {
      if (name !== 'io.debezium.time.ZonedTime') return false;
      const m = /^(\d\d):(\d\d):(\d\d)(?:\.(\d+))?Z$/.exec(JSON.parse(raw));
      return m !== null && timeMicros(m[1], m[2], m[3], m[4]) === pgTime(pg);
    }
    case 'timestamp': {
      const micros = name === 'io.debezium.time.MicroTimestamp';
      if (!micros && !/\.Timestamp$/.test(name)) return false;
      const v = BigInt(raw) * (micros ? 1n : 1000n);
      if (pg === 'infinity') return v === PG_INFINITY_US;
      if (pg === '-infinity') return v === PG_NEG_INFINITY_US;
      const want = pgTimestamp(pg);
      // milliseconds: Debezium floors the instant (java.util.Date / Instant.toEpochMilli)
      return micros ? v === want : v === want - (((want % 1000n) + 1000n) % 1000n);
    }
    case 'timestamptz': {
      if (name !== 'io.debezium.time.ZonedTimestamp') return false;
      const v = JSON.parse(raw);
      if (pg === 'infinity' || pg === '-infinity') return v === pg;
      return isoTimestamp(v) === pgTimestamp(pg);
    }
    case 'interval': {
      if (name === 'io.debezium.time.MicroDuration') return BigInt(raw) === pgIntervalMicroDuration(pg);
      if (name !== 'io.debezium.time.Interval') return false;
      // ISO 8601 with Debezium's fields: P<y>Y<m>M<d>DT<h>H<min>M<s>S (seconds truncated to the microsecond)
      const m = /^P(-?\d+)Y(-?\d+)M(-?\d+)DT(-?\d+)H(-?\d+)M(-?\d+(?:\.\d+)?)S$/.exec(JSON.parse(raw));
      if (!m) return false;
      const f = pgIntervalFields(pg);
      const secs = Number(m[4]) * 3600 + Number(m[5]) * 60 + Number(m[6]);
      return Number(m[1]) === f.years && Number(m[2]) === f.months && Number(m[3]) === f.days &&
             Math.abs(secs - f.secs) < 1.5e-6;
    }
    case 'bit': case 'varbit': {
      if (schema.type === 'boolean') return raw === (pg === '1' ? 'true' : 'false');
      if (name !== 'io.debezium.data.Bits') return false;
      const want = pg === '' ? 0n : BigInt('0b' + pg);
      const lengthOk = base === 'varbit' ? schema.parameters.length === '2147483647' || schema.parameters.length === String(type.match(/\d+/)?.[0])
                                         : schema.parameters.length === type.match(/\d+/)[0];
      return lengthOk && bitsValue(Buffer.from(JSON.parse(raw), 'base64')) === want;
    }
    case 'point': {
      if (name !== 'io.debezium.data.geometry.Point') return false;
      const v = JSON.parse(raw);
      const m = /^\(([^,]+),([^)]+)\)$/.exec(pg);
      const wkb = Buffer.from(v.wkb, 'base64');
      return m !== null && v.x === Number(m[1]) && v.y === Number(m[2]) && wkb.length === 21 && wkb[0] === 1 &&
             wkb.readInt32LE(1) === 1 && wkb.readDoubleLE(5) === v.x && wkb.readDoubleLE(13) === v.y;
    }
    default:  // text types, json, uuid, xml, network addresses, ranges, and the text of types Debezium leaves out
      return schema.type === 'string' && JSON.parse(raw) === pg;
  }
}

let checked = 0;
const failures = [];
for (const [config, id, key, raw, elemList, fieldsJson] of reader.getRows()) {
  const elems = elemList ? elemList.items : null;
  const fields = JSON.parse(fieldsJson);
  const schema = fields.find((f) => f.field === key);
  const type = typeOf[key];
  const row = rows.get(id);
  const sw = switchesOf[config];
  let ok;
  if (type === undefined || row === undefined || schema === undefined) {
    ok = false;
  } else if (type.endsWith('[]')) {
    const elemType = type.slice(0, -2);
    if (raw === 'null') ok = row[`${key}_isnull`] === true;
    else {
      const pgElems = row[key];
      const got = elems ?? [];
      ok = schema.type === 'array' && row[`${key}_isnull`] === false && got.length === pgElems.length &&
           got.every((e, i) => matches(elemType, schema.items, e, pgElems[i], sw));
    }
  } else {
    ok = matches(type, schema, raw, row[key], sw);
  }
  ++checked;
  if (!ok) failures.push(`${config} id ${id} ${key} (${type}): record ${raw}${elems ? ' ' + JSON.stringify(elems) : ''}, PostgreSQL ${JSON.stringify(row?.[key])}`);
}
console.log(`checked ${checked} values, ${failures.length} mismatches`);
for (const f of failures.slice(0, 50)) console.log(f);
process.exit(failures.length ? 1 : 0);
