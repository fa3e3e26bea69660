// Headless-Chromium check of a LIVE `cdcpipe run` whose tables, columns, views, column aliases and
// values are hostile (HTML, quotes, newlines, backslashes, terminal controls, emoji, RTL, combining
// marks). Driven by tests/hostile_names_test.cc.
//
//   node hostile_names_check.mjs BASE_URL SYNC_DIR
//
// SYNC_DIR/expected.json (written by the test before it starts this script):
//   { tables: {key: events}, views: [{name, columns: [..], values: [..]}] }: the dashboard's table keys
//   with the events captured so far, each view's name, column aliases and some of its cell values.
// 1. Opens BASE_URL/, waits until the page shows every table with those counts, checks that every name
//    and value is the text of its element (exactly), that no element, attribute or script came from
//    them, and writes SYNC_DIR/phase1.json.
// 2. Waits for SYNC_DIR/go ({tables: {key: events}, views: [...]}: the counts and values after the
//    test's workload), then waits (no reload) until the page shows them: the live figures moved.
// 3. Fetches /metrics and parses it as a strict Prometheus text exposition (format 0.0.4), and
//    /api/status as JSON; both must carry the exact names.
// Exits 1 with a message on any failed check. A dialog (alert), a page error, a console error or a
// request to anything but BASE_URL's origin fails the check too. Prints a JSON summary last.
import { launchChromium } from './chromium.mjs';
import fs from 'node:fs';
import path from 'node:path';

const [base, syncDir] = process.argv.slice(2);
if (!base || !syncDir) {
  console.error('usage: hostile_names_check.mjs BASE_URL SYNC_DIR');
  process.exit(2);
}
function fail(msg) { console.error('hostile names check failed: ' + msg); process.exitCode = 1; throw new Error(msg); }
const show = s => JSON.stringify(s);
const expected = JSON.parse(fs.readFileSync(path.join(syncDir, 'expected.json'), 'utf8'));

// ---- A strict parser of the Prometheus text format 0.0.4 -----------------------------------------
// Returns {families: {name: {help, type}}, samples: [{name, labels: {k: v}, value}]}; throws on any
// line that is not a comment, a HELP/TYPE line or a sample; on a label value with an escape other than
// \\ \" \n (any other character, a control character too, is the format's own text there); on a sample
// whose family has no TYPE before it; on a repeated HELP/TYPE or series; on text that is not UTF-8.
export function parseExposition(bytes) {
  const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  if (!text.endsWith('\n')) throw new Error('the exposition does not end with a newline');
  const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
  const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*/;
  const families = {};
  const samples = [];
  const series = new Set();
  const lines = text.slice(0, -1).split('\n');
  lines.forEach((line, i) => {
    const where = 'line ' + (i + 1) + ' ' + show(line) + ': ';
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
      if (!m) {
        if (/^# (HELP|TYPE)/.test(line)) throw new Error(where + 'a bad HELP or TYPE line');
        return;  // a comment
      }
      const f = families[m[2]] || (families[m[2]] = {});
      const key = m[1].toLowerCase();
      if (f[key] !== undefined) throw new Error(where + 'a second ' + m[1] + ' for ' + m[2]);
      if (key === 'type' && !['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(m[3])) {
        throw new Error(where + 'unknown type ' + m[3]);
      }
      if (key === 'help' && /\\[^\\n]/.test(m[3].replace(/\\\\/g, ''))) throw new Error(where + 'a bad escape in HELP');
      if (key === 'type' && samples.some(s => s.name === m[2])) throw new Error(where + 'TYPE after samples');
      f[key] = m[3];
      return;
    }
    if (line.trim() === '') throw new Error(where + 'an empty line');
    const nm = NAME.exec(line);
    if (!nm) throw new Error(where + 'no metric name');
    const name = nm[0];
    let at = name.length;
    const labels = {};
    if (line[at] === '{') {
      at++;
      while (line[at] !== '}') {
        const lm = LABEL.exec(line.slice(at));
        if (!lm) throw new Error(where + 'a bad label name at column ' + (at + 1));
        at += lm[0].length;
        if (line[at] !== '=' || line[at + 1] !== '"') throw new Error(where + 'expected =" at column ' + (at + 1));
        at += 2;
        let value = '';
        for (;;) {
          if (at >= line.length) throw new Error(where + 'an unterminated label value');
          const c = line[at];
          if (c === '"') { at++; break; }
          if (c === '\\') {
            const e = line[at + 1];
            if (e === '\\') value += '\\';
            else if (e === '"') value += '"';
            else if (e === 'n') value += '\n';
            else throw new Error(where + 'a bad escape \\' + e + ' in a label value');
            at += 2;
          } else {
            value += c;
            at++;
          }
        }
        if (labels[lm[0]] !== undefined) throw new Error(where + 'label ' + lm[0] + ' twice');
        labels[lm[0]] = value;
        if (line[at] === ',') at++;
        else if (line[at] !== '}') throw new Error(where + 'expected , or } at column ' + (at + 1));
      }
      at++;
    }
    const rest = line.slice(at);
    const vm = /^ (NaN|[+-]Inf|[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(?: -?\d+)?$/.exec(rest);
    if (!vm) throw new Error(where + 'a bad value ' + show(rest));
    const family = families[name] || families[name.replace(/_(sum|count|bucket)$/, '')];
    if (!family || !family.type) throw new Error(where + 'a sample without a TYPE line before it');
    const id = name + JSON.stringify(Object.entries(labels).sort());
    if (series.has(id)) throw new Error(where + 'the same series twice');
    series.add(id);
    samples.push({ name, labels, value: Number(vm[1].replace('Inf', 'Infinity')) });
  });
  return { families, samples };
}

// ---- The browser ------------------------------------------------------------------------------------
const origin = new URL(base).origin;
const chromium = await launchChromium();
const browser = chromium.context;
const pageErrors = [];
const dialogs = [];
const requests = [];
try {
  const page = await browser.newPage();
  page.on('pageerror', e => pageErrors.push(String(e)));
  page.on('console', m => { if (m.type() === 'error') pageErrors.push(m.text()); });
  page.on('dialog', d => { dialogs.push(d.type() + ': ' + d.message()); d.dismiss().catch(() => {}); });
  page.on('request', r => requests.push(r.url()));
  // A script that ran from a name would call one of these (or alert, which fires a dialog).
  await page.addInitScript(() => { window.__pwned = []; for (const f of ['confirm', 'prompt', 'print']) window[f] = () => window.__pwned.push(f); });
  await page.goto(base + '/', { waitUntil: 'load' });
  await page.waitForSelector('#conn.live', { timeout: 30000 });

  // What the page shows: each table row's name and counts, each view's heading, column names and cells.
  const seen = () => page.evaluate(() => ({
    tables: [...document.querySelectorAll('#tables tr')].map(tr => ({
      attr: tr.getAttribute('data-table'), name: tr.cells[0].textContent,
      captured: Number(tr.cells[1].textContent.replace(/,/g, '')), written: Number(tr.cells[2].textContent.replace(/,/g, '')) })),
    views: [...document.querySelectorAll('#views .view')].map(v => ({
      attr: v.getAttribute('data-view'), name: v.querySelector('h3').textContent,
      columns: [...v.querySelectorAll('thead th')].map(th => th.textContent),
      cells: [...v.querySelectorAll('tbody td')].map(td => td.textContent),
      bars: [...v.querySelectorAll('svg rect')].map(r => r.getAttribute('data-group')),
      error: (v.querySelector('.err') || {}).textContent || '' })),
  }));
  // Waits until every expected table shows at least its count (captured and written) and every view
  // holds its expected cells; returns what the page showed then.
  async function waitForFigures(want) {
    await page.waitForFunction(want => {
      const rows = new Map([...document.querySelectorAll('#tables tr')].map(tr => [tr.cells[0].textContent, tr]));
      for (const [name, n] of Object.entries(want.tables)) {
        const tr = rows.get(name);
        if (!tr || Number(tr.cells[1].textContent.replace(/,/g, '')) < n || Number(tr.cells[2].textContent.replace(/,/g, '')) < n) return false;
      }
      const views = new Map([...document.querySelectorAll('#views .view')].map(v => [v.querySelector('h3').textContent, v]));
      for (const v of want.views) {
        const el = views.get(v.name);
        if (!el) return false;
        const cells = new Set([...el.querySelectorAll('tbody td')].map(td => td.textContent));
        if (!v.values.every(x => cells.has(x))) return false;
      }
      return true;
    }, want, { timeout: 60000, polling: 200 }).catch(async e => {
      fail('the page never showed ' + show(want) + '; it shows ' + show(await seen()) + ' (' + e.message + ')');
    });
    return seen();
  }
  // Nothing on the page came from a name or a value: one script (the page's own), no element of the
  // kinds the names hold, no event-handler attribute anywhere, the title unchanged, no script ran.
  async function checkNothingInjected(when) {
    const r = await page.evaluate(() => ({
      scripts: document.querySelectorAll('script').length,
      elements: document.querySelectorAll('img, iframe, object, embed, b:not(.kv > b), td script, svg svg, svg foreignObject, a, form, input, link, meta[http-equiv="refresh"]').length,
      handlers: [...document.querySelectorAll('*')].flatMap(e => [...e.attributes].filter(a => /^on/i.test(a.name)).map(a => e.tagName + '[' + a.name + ']')),
      title: document.title,
      pwned: window.__pwned,
    }));
    if (r.scripts !== 1) fail(when + ': ' + r.scripts + ' script elements (the page has one)');
    if (r.elements) fail(when + ': ' + r.elements + ' element(s) were created from names or values');
    if (r.handlers.length) fail(when + ': event handler attributes: ' + r.handlers.join(', '));
    if (r.title !== 'cdcpipe') fail(when + ': the title changed to ' + show(r.title));
    if (r.pwned.length) fail(when + ': a script from a name or value ran: ' + r.pwned.join(', '));
    if (dialogs.length) fail(when + ': dialogs opened: ' + dialogs.join(' | '));
  }
  function checkExact(when, page_, want) {
    const shownTables = page_.tables.map(t => t.name).sort();
    const wantTables = Object.keys(want.tables).sort();
    for (const t of wantTables) if (!shownTables.includes(t)) fail(when + ': table ' + show(t) + ' is not shown as its text; shown: ' + show(shownTables));
    for (const t of page_.tables) if (t.attr !== t.name) fail(when + ': data-table ' + show(t.attr) + ' differs from the name ' + show(t.name));
    for (const v of want.views) {
      const got = page_.views.find(x => x.name === v.name);
      if (!got) fail(when + ': view ' + show(v.name) + ' is not shown as its text; shown: ' + show(page_.views.map(x => x.name)));
      if (got.attr !== v.name) fail(when + ': data-view ' + show(got.attr) + ' differs from ' + show(v.name));
      if (got.error) fail(when + ': view ' + show(v.name) + ' stopped: ' + got.error);
      if (show(got.columns) !== show(v.columns)) fail(when + ': view ' + show(v.name) + ' columns ' + show(got.columns) + ', expected ' + show(v.columns));
      for (const x of v.values) if (!got.cells.includes(x)) fail(when + ': view ' + show(v.name) + ' has no cell ' + show(x) + '; cells ' + show(got.cells));
    }
  }

  const phase1 = await waitForFigures(expected);
  checkExact('phase 1', phase1, expected);
  await checkNothingInjected('phase 1');
  // Renamed into place: the test must never find phase1.json created but not yet written.
  fs.writeFileSync(path.join(syncDir, 'phase1.json.tmp'), JSON.stringify(phase1));
  fs.renameSync(path.join(syncDir, 'phase1.json.tmp'), path.join(syncDir, 'phase1.json'));

  const go = path.join(syncDir, 'go');
  for (let i = 0; !fs.existsSync(go); i++) {
    if (i > 1200) fail('the test never wrote ' + go);
    await new Promise(r => setTimeout(r, 50));
  }
  const after = JSON.parse(fs.readFileSync(go, 'utf8'));
  const navigations = requests.filter(u => u === base + '/').length;
  const phase2 = await waitForFigures(after);
  checkExact('phase 2', phase2, after);
  await checkNothingInjected('phase 2');
  for (const t of phase1.tables) {
    const later = phase2.tables.find(x => x.name === t.name);
    if (after.tables[t.name] > expected.tables[t.name] && !(later.captured > t.captured)) {
      fail('the captured count of ' + show(t.name) + ' did not increase: ' + t.captured + ' -> ' + later.captured);
    }
  }
  if (requests.filter(u => u === base + '/').length !== navigations) fail('the page reloaded instead of updating in place');
  const external = requests.filter(u => !u.startsWith(origin + '/'));
  if (external.length) fail('the page requested something elsewhere: ' + external.join(', '));
  const local = [...new Set(requests.map(u => new URL(u).pathname))].filter(p => p !== '/' && p !== '/api/status');
  if (local.length) fail('the page requested more than itself and /api/status: ' + local.join(', '));
  if (pageErrors.length) fail('page errors: ' + pageErrors.join(' | '));

  // /metrics: a strict parse, then every table and view by its exact name.
  const mr = await fetch(base + '/metrics');
  if (mr.status !== 200) fail('/metrics answered ' + mr.status);
  let metrics;
  try {
    metrics = parseExposition(new Uint8Array(await mr.arrayBuffer()));
  } catch (e) {
    fail('/metrics is not a valid exposition: ' + e.message);
  }
  const sample = (name, label, value) => metrics.samples.find(s => s.name === name && s.labels[label] === value);
  for (const [t, n] of Object.entries(after.tables)) {
    const s = sample('cdcpipe_events_captured_total', 'table', t);
    if (!s || s.value < n) fail('/metrics has no cdcpipe_events_captured_total{table=' + show(t) + '} >= ' + n + ': ' + show(s));
  }
  for (const v of after.views) {
    const s = sample('cdcpipe_view_up', 'view', v.name);
    if (!s || s.value !== 1) fail('/metrics has no cdcpipe_view_up{view=' + show(v.name) + '} 1: ' + show(s));
  }
  const api = await (await fetch(base + '/api/status')).json();
  for (const t of Object.keys(after.tables)) if (!(t in api.tables)) fail('/api/status has no table ' + show(t));
  for (const v of after.views) {
    const got = api.views.find(x => x.name === v.name);
    if (!got || show(got.columns.map(c => c.name)) !== show(v.columns)) fail('/api/status view ' + show(v.name) + ': ' + show(got));
  }
  console.log(JSON.stringify({
    phase1: Object.fromEntries(phase1.tables.map(t => [t.name, t.captured])),
    phase2: Object.fromEntries(phase2.tables.map(t => [t.name, t.captured])),
    metrics_samples: metrics.samples.length,
  }));
} finally {
  await chromium.close();
}
