// Headless-Chromium check of the cdcpipe dashboard (driven by tests/http_test.cc).
//
//   node dashboard_check.mjs URL SYNC_DIR SCREENSHOT
//
// 1. Opens URL, waits until the page has rendered the stage diagram from /api/status, checks the
//    stages and the views (the seed's two charts, and a view whose name and values are HTML: shown
//    as text, no element made from them, no script run), and records the charts' bars.
// 2. Writes SYNC_DIR/phase1.json (what it saw) and waits for SYNC_DIR/go (the test then changes the
//    analytics in the hub).
// 3. Waits (no reload) until both charts show different bars, saves SCREENSHOT, prints a JSON summary.
// Exits 1 with a message on any failed check; the page's console errors also fail the check.
import { launchChromium } from './chromium.mjs';
import fs from 'node:fs';
import path from 'node:path';

const [url, syncDir, screenshot] = process.argv.slice(2);
if (!url || !syncDir || !screenshot) {
  console.error('usage: dashboard_check.mjs URL SYNC_DIR SCREENSHOT');
  process.exit(2);
}
function fail(msg) { console.error('dashboard check failed: ' + msg); process.exitCode = 1; throw new Error(msg); }

const chromium = await launchChromium();
const browser = chromium.context;
const pageErrors = [];
const requests = [];
try {
  const page = await browser.newPage();
  page.on('pageerror', e => pageErrors.push(String(e)));
  page.on('console', m => { if (m.type() === 'error') pageErrors.push(m.text()); });
  page.on('request', r => requests.push(r.url()));
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForSelector('#conn.live', { timeout: 20000 });

  const stages = await page.$$eval('#diagram .node', ns => ns.map(n => ({ id: n.dataset.stage, state: n.dataset.state, text: n.innerText })));
  const ids = stages.map(s => s.id).join(',');
  if (ids !== 'postgres,capture,kafka,stream,storage,analytics') fail('unexpected diagram nodes: ' + ids);
  const byId = Object.fromEntries(stages.map(s => [s.id, s]));
  if (byId.capture.state !== 'running') fail('capture should be running, saw ' + byId.capture.state);
  if (byId.stream.state !== 'retrying') fail('stream should be retrying, saw ' + byId.stream.state);
  if (!byId.capture.text.includes('ev/s')) fail('capture node shows no throughput: ' + byId.capture.text);
  const lsn = await page.textContent('#lsn');
  const errors = await page.textContent('#errors');

  const view = name => '.view[data-view="' + name + '"]';
  const bars = sel => page.$$eval(sel + ' rect', rs => rs.map(r => r.dataset.group + '=' + r.dataset.value).sort().join(';'));
  const country1 = await bars(view('klienci-by-country'));
  const position1 = await bars(view('avg-age-by-position'));
  // The hostile view: its name is the heading's text, its cells are text, nothing was injected.
  const hostile = await page.$$eval('.view h3', hs => hs.map(h => h.textContent).find(t => t.startsWith('<img')));
  if (!hostile) fail('the view with an HTML name is not shown as text');
  const injected = await page.$$eval('.view img, .view script, .view b, main img, main script', es => es.length);
  if (injected) fail(injected + ' element(s) were created from names or values');
  const cells = await page.$$eval('.view td', ts => ts.map(t => t.textContent));
  if (!cells.includes("<script>document.title='pwned'</script>")) fail('a value with HTML is not shown as text');
  if ((await page.title()).includes('pwned')) fail('a script from a name or value ran');
  if (!country1) fail('the clients-by-country chart has no bars');
  if (!position1) fail('the avg-age-by-position chart has no bars');

  // Written under another name and renamed: the test waits for phase1.json to exist, and must never
  // find it created but not yet written.
  fs.writeFileSync(path.join(syncDir, 'phase1.json.tmp'), JSON.stringify({ stages, lsn, errors, country1, position1, hostile }));
  fs.renameSync(path.join(syncDir, 'phase1.json.tmp'), path.join(syncDir, 'phase1.json'));
  const go = path.join(syncDir, 'go');
  for (let i = 0; !fs.existsSync(go); i++) {
    if (i > 600) fail('the test never wrote ' + go);
    await new Promise(r => setTimeout(r, 50));
  }
  const navigations = requests.filter(u => u === url).length;
  await page.waitForFunction(([c1, p1]) => {
    const b = name => [...document.querySelectorAll('.view[data-view="' + name + '"] rect')].map(r => r.dataset.group + '=' + r.dataset.value).sort().join(';');
    return b('klienci-by-country') !== c1 && b('avg-age-by-position') !== p1;
  }, [country1, position1], { timeout: 20000 });
  const country2 = await bars(view('klienci-by-country'));
  const position2 = await bars(view('avg-age-by-position'));
  if (requests.filter(u => u === url).length !== navigations) fail('the page reloaded instead of updating in place');
  const external = requests.filter(u => !u.startsWith(new URL(url).origin));
  if (external.length) fail('the page loaded resources from elsewhere: ' + external.join(', '));
  await page.screenshot({ path: screenshot, fullPage: true });
  if (pageErrors.length) fail('page errors: ' + pageErrors.join(' | '));
  console.log(JSON.stringify({ lsn, country1, country2, position1, position2, screenshot }));
} finally {
  await chromium.close();
}
