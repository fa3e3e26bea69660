#include "http/dashboard.h"

namespace cdc::http {
namespace {

// Kept self-contained on purpose: the dashboard must work on a machine without internet access, so
// there are no fonts, scripts or styles from anywhere else. Charts are inline SVG drawn by hand.
// Names and values (tables, columns, views, rows, errors) come from the user's database and SQL: the
// script sets them only with textContent and setAttribute, never as HTML. The Content-Security-Policy
// is the second line: it allows the page's own inline script and style and requests to its own
// origin only, so even an injected element could load or send nothing.
constexpr std::string_view kPage = R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'none'">
<title>cdcpipe</title>
<style>
  :root { --bg:#f5f6f8; --card:#fff; --ink:#1d2330; --muted:#6b7385; --line:#d9dde5;
          --ok:#1f9d55; --warn:#d98e04; --bad:#d64545; --idle:#8a93a6; --accent:#3b6fd8; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background:var(--bg); color:var(--ink); }
  header { display:flex; align-items:center; gap:16px; padding:12px 24px; background:#1d2330; color:#fff; }
  header h1 { font-size:18px; margin:0; font-weight:600; letter-spacing:.3px; }
  header .meta { color:#b8c0d0; font-size:13px; }
  #conn { margin-left:auto; font-size:13px; padding:2px 10px; border-radius:10px; background:#44506a; }
  #conn.live { background:var(--ok); } #conn.down { background:var(--bad); }
  main { padding:16px 24px; display:grid; gap:16px; }
  section { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:14px 16px; }
  section h2 { margin:0 0 10px; font-size:14px; text-transform:uppercase; letter-spacing:.6px; color:var(--muted); }
  #diagram { display:flex; align-items:stretch; gap:0; overflow-x:auto; }
  .node { flex:1 1 0; min-width:130px; border:2px solid var(--line); border-radius:8px; padding:8px 10px; background:#fbfcfe; }
  .node.optional { border-style:dashed; }
  .node .title { font-weight:600; font-size:15px; }
  .node .state { display:inline-block; margin:4px 0; padding:1px 8px; border-radius:9px; font-size:12px; color:#fff; background:var(--idle); }
  .node[data-state=running] { border-color:var(--ok); } .node[data-state=running] .state { background:var(--ok); }
  .node[data-state=catching_up] .state, .node[data-state=retrying] .state, .node[data-state=starting] .state { background:var(--warn); }
  .node[data-state=catching_up], .node[data-state=retrying] { border-color:var(--warn); }
  .node[data-state=failed] { border-color:var(--bad); } .node[data-state=failed] .state { background:var(--bad); }
  .node .kv { font-size:12px; color:var(--muted); } .node .kv b { color:var(--ink); font-weight:600; }
  .node .detail { font-size:12px; margin-top:4px; color:var(--ink); word-break:break-word; }
  .arrow { flex:0 0 28px; display:flex; align-items:center; justify-content:center; color:var(--muted); font-size:20px; }
  .cards { display:grid; grid-template-columns:repeat(auto-fit, minmax(160px, 1fr)); gap:10px; }
  .card { border:1px solid var(--line); border-radius:6px; padding:8px 10px; }
  .card .label { font-size:12px; color:var(--muted); } .card .value { font-size:18px; font-weight:600; font-variant-numeric:tabular-nums; }
  .two { display:grid; grid-template-columns:repeat(auto-fit, minmax(380px, 1fr)); gap:16px; }
  table { border-collapse:collapse; width:100%; font-variant-numeric:tabular-nums; }
  th, td { text-align:left; padding:4px 8px; border-bottom:1px solid var(--line); } th { color:var(--muted); font-weight:500; }
  th.n, td.n { text-align:right; }
  #errors li { color:var(--bad); font-family:ui-monospace, monospace; font-size:12px; margin-bottom:3px; }
  #errors.empty { color:var(--muted); }
  .chartmeta { font-size:12px; color:var(--muted); margin-bottom:6px; }
  svg text { font-size:12px; fill:var(--ink); } svg .bar { fill:var(--accent); }
  .views { display:grid; grid-template-columns:repeat(auto-fill, minmax(460px, 1fr)); gap:16px; }
  #snapshot[hidden] { display:none; }
  .pbar { height:8px; background:var(--line); border-radius:4px; min-width:80px; overflow:hidden; }
  .pbar div { height:100%; background:var(--accent); }
  #snapshot td { overflow-wrap:anywhere; }
  .view h3 { margin:0 0 4px; font-size:14px; overflow-wrap:anywhere; } .view .err { color:#b42318; font-size:12px; overflow-wrap:anywhere; }
  .view table { font-size:12px; } .view td, .view th { overflow-wrap:anywhere; } .view td.null { color:var(--muted); font-style:italic; }
</style>
</head>
<body>
<header>
  <h1>cdcpipe</h1>
  <span class="meta" id="uptime">connecting&hellip;</span>
  <span id="conn">connecting</span>
</header>
<main>
  <section>
    <h2>Pipeline</h2>
    <div id="diagram"></div>
  </section>
  <section>
    <h2>Progress</h2>
    <div class="cards">
      <div class="card"><div class="label">Last committed LSN</div><div class="value" id="lsn">&ndash;</div></div>
      <div class="card"><div class="label">Last batch</div><div class="value" id="batch">&ndash;</div></div>
      <div class="card"><div class="label">Batches committed</div><div class="value" id="batches">&ndash;</div></div>
      <div class="card"><div class="label">Bytes written</div><div class="value" id="bytes">&ndash;</div></div>
      <div class="card"><div class="label">Slot lag</div><div class="value" id="slotlag">&ndash;</div></div>
      <div class="card"><div class="label">Freshness</div><div class="value" id="freshness">&ndash;</div></div>
    </div>
  </section>
  <section id="snapshot" hidden>
    <h2>Initial snapshot</h2>
    <div class="chartmeta" id="snapshot-meta"></div>
    <table><thead><tr><th>table</th><th>state</th><th class="n">rows</th><th class="n">estimated</th><th></th><th class="n">rows/s</th><th class="n">ETA</th></tr></thead><tbody id="snapshot-tables"></tbody></table>
  </section>
  <section>
    <h2>Views</h2>
    <div class="chartmeta" id="views-meta"></div>
    <div id="views" class="views"></div>
  </section>
  <div class="two">
    <section>
      <h2>Tables</h2>
      <table><thead><tr><th>table</th><th class="n">captured</th><th class="n">written</th></tr></thead><tbody id="tables"></tbody></table>
    </section>
    <section>
      <h2>Recent errors</h2>
      <ul id="errors" class="empty"><li>none</li></ul>
    </section>
  </div>
</main>
<script>
"use strict";
const SVGNS = "http://www.w3.org/2000/svg";
const params = new URLSearchParams(location.search);
const tokenQuery = params.has("token") ? "?token=" + encodeURIComponent(params.get("token")) : "";
// The diagram's fixed shape; "kafka" is optional (the embedded path has none).
const FLOW = [
  { id: "postgres", title: "PostgreSQL" },
  { id: "capture", title: "capture" },
  { id: "kafka", title: "Kafka", optional: true },
  { id: "stream", title: "stream" },
  { id: "storage", title: "Parquet" },
  { id: "analytics", title: "analytics" },
];
function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  return e;
}
function fmtNum(n) { return n === null || n === undefined ? "\u2013" : Number(n).toLocaleString("en-US", { maximumFractionDigits: 1 }); }
function fmtBytes(b) {
  if (!b) return "0 B";
  const u = ["B", "KiB", "MiB", "GiB", "TiB"]; let i = 0; let v = b;
  while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return v.toFixed(i ? 1 : 0) + " " + u[i];
}
function fmtSecs(s) {
  if (s === null || s === undefined) return "\u2013";
  if (s < 1) return (s * 1000).toFixed(0) + " ms";
  if (s < 120) return s.toFixed(1) + " s";
  if (s < 7200) return (s / 60).toFixed(1) + " min";
  return (s / 3600).toFixed(1) + " h";
}
function kv(label, value) { const d = el("div", { class: "kv" }, label + " "); d.appendChild(el("b", {}, value)); return d; }
function drawDiagram(st) {
  const byName = {}; for (const s of st.stages) byName[s.name] = s;
  const root = document.getElementById("diagram"); root.replaceChildren();
  FLOW.forEach((f, i) => {
    if (i > 0) root.appendChild(el("div", { class: "arrow" }, "\u2192"));
    const node = el("div", { class: "node" + (f.optional ? " optional" : ""), "data-stage": f.id });
    node.appendChild(el("div", { class: "title" }, f.title));
    if (f.id === "postgres") {
      const cap = byName.capture;
      const state = cap ? (cap.state === "failed" ? "failed" : "running") : "unknown";
      node.setAttribute("data-state", state);
      node.appendChild(el("span", { class: "state" }, cap ? "source" : "unknown"));
      node.appendChild(kv("confirmed LSN", st.last_committed_lsn || "\u2013"));
      node.appendChild(kv("slot lag", fmtBytes(st.slot_lag_bytes)));
    } else if (byName[f.id]) {
      const s = byName[f.id];
      node.setAttribute("data-state", s.state);
      node.appendChild(el("span", { class: "state" }, s.state.replace("_", " ")));
      node.appendChild(kv("throughput", fmtNum(s.events_per_second) + " ev/s"));
      node.appendChild(kv("lag", fmtSecs(s.lag_seconds)));
      node.appendChild(kv("errors", fmtNum(s.errors_total)));
      // A stall in progress (a peer owes the stage an answer), from 1 s on so that normal requests do not flicker.
      if (s.waiting_on && s.stalled_seconds >= 1) {
        node.appendChild(kv("stalled", fmtSecs(s.stalled_seconds) + " waiting on " + s.waiting_on));
      }
      if (s.detail) node.appendChild(el("div", { class: "detail" }, s.detail));
    } else {
      node.setAttribute("data-state", "absent");
      node.appendChild(el("span", { class: "state" }, f.optional ? "not used" : "not running"));
    }
    root.appendChild(node);
  });
}
// Horizontal bars, one per row, sorted by value; value labels at the bar's end. Every name and value
// is set with textContent or setAttribute: names come from the user's SQL and database.
function drawBars(svg, rows, nameOf, valueOf, labelOf) {
  svg.replaceChildren();
  const rowH = 22, left = 130, right = 90;
  const width = Math.max(svg.clientWidth || 440, 300);
  const sorted = rows.slice().sort((a, b) => valueOf(b) - valueOf(a));
  svg.setAttribute("height", Math.max(sorted.length * rowH + 6, 30));
  if (!sorted.length) {
    const t = document.createElementNS(SVGNS, "text"); t.setAttribute("x", 4); t.setAttribute("y", 18); t.textContent = "no rows";
    svg.appendChild(t); return;
  }
  const max = Math.max(...sorted.map(valueOf), 1e-9);
  sorted.forEach((r, i) => {
    const y = i * rowH + 3, v = valueOf(r), name = nameOf(r);
    const label = document.createElementNS(SVGNS, "text");
    label.setAttribute("x", left - 6); label.setAttribute("y", y + 14); label.setAttribute("text-anchor", "end");
    label.textContent = name.length > 18 ? name.slice(0, 17) + "\u2026" : name;
    const bar = document.createElementNS(SVGNS, "rect");
    const w = Math.max(1, (width - left - right) * Math.max(v, 0) / max);
    bar.setAttribute("x", left); bar.setAttribute("y", y); bar.setAttribute("height", rowH - 6); bar.setAttribute("width", w);
    bar.setAttribute("class", "bar"); bar.setAttribute("data-group", name); bar.setAttribute("data-value", String(v));
    const title = document.createElementNS(SVGNS, "title"); title.textContent = name + ": " + labelOf(r); bar.appendChild(title);
    const val = document.createElementNS(SVGNS, "text");
    val.setAttribute("x", left + w + 6); val.setAttribute("y", y + 14); val.textContent = labelOf(r);
    svg.append(label, bar, val);
  });
}
const NUMERIC = /^(smallint|integer|bigint|real|double precision|numeric.*)$/;
// One view: its name, state line, a bar chart of its first numeric column (labelled by its first
// other column) when it has one, and its first rows as a table.
function drawView(v) {
  const sec = el("div", { class: "view", "data-view": v.name });
  sec.appendChild(el("h3", {}, v.name));
  const meta = v.row_count + " row" + (v.row_count === 1 ? "" : "s") + " \u00b7 source LSN " + (v.source_lsn || "\u2013") +
    " \u00b7 freshness " + fmtSecs(v.freshness_seconds) + " \u00b7 " + fmtBytes(v.state_bytes) + " of state";
  sec.appendChild(el("div", { class: "chartmeta" }, meta));
  if (v.error) sec.appendChild(el("div", { class: "err" }, "stopped: " + v.error));
  const num = v.columns.findIndex(c => NUMERIC.test(c.type));
  if (num >= 0) {
    const lab = v.columns.findIndex((c, i) => i !== num && !NUMERIC.test(c.type));
    const svg = document.createElementNS(SVGNS, "svg");
    svg.setAttribute("width", "100%"); svg.setAttribute("role", "img"); svg.setAttribute("aria-label", v.name);
    sec.appendChild(svg);
    drawBars(svg, v.rows, r => lab < 0 ? v.columns[num].name : (r[lab] === null ? "(null)" : r[lab]),
             r => r[num] === null ? 0 : Number(r[num]), r => r[num] === null ? "\u2013" : fmtNum(Number(r[num])));
  }
  const table = el("table"), head = el("tr"), body = el("tbody");
  for (const c of v.columns) { const th = el("th", {}, c.name); th.setAttribute("title", c.type); head.appendChild(th); }
  table.appendChild(el("thead")).appendChild(head);
  for (const r of v.rows) {
    const tr = el("tr");
    r.forEach(x => tr.appendChild(x === null ? el("td", { class: "null" }, "NULL") : el("td", {}, x)));
    body.appendChild(tr);
  }
  table.appendChild(body);
  sec.appendChild(table);
  if (v.rows_shown < v.row_count) sec.appendChild(el("div", { class: "chartmeta" }, "first " + v.rows_shown + " of " + v.row_count + " rows"));
  return sec;
}
// The initial snapshot's progress (hidden when this process takes none). Table names come from the
// database: set with textContent only.
function drawSnapshot(sn) {
  const sec = document.getElementById("snapshot");
  if (!sn) { sec.hidden = true; return; }
  sec.hidden = false;
  const est = sn.rows_estimated === null ? "" : " of ~" + fmtNum(sn.rows_estimated);
  const eta = sn.state === "running" && sn.eta_seconds !== null ? " \u00b7 ETA " + fmtSecs(sn.eta_seconds) : "";
  document.getElementById("snapshot-meta").textContent = sn.state + (sn.resumed ? " (resumed)" : "") + " \u00b7 " +
    fmtNum(sn.rows_done) + est + " rows \u00b7 " + fmtNum(sn.rows_per_second) + " rows/s" + eta;
  const tb = document.getElementById("snapshot-tables"); tb.replaceChildren();
  for (const t of sn.tables) {
    const tr = el("tr", { "data-table": t.table, "data-state": t.state });
    const bar = el("div", { class: "pbar" }), fill = el("div");
    fill.style.width = (t.percent === null ? 0 : t.percent) + "%";
    bar.appendChild(fill);
    const pct = el("td"); pct.appendChild(bar);
    if (t.percent !== null) pct.setAttribute("title", t.percent.toFixed(1) + "%");
    tr.append(el("td", {}, t.table), el("td", {}, t.state),
              el("td", { class: "n" }, t.rows_done === null ? "(before restart)" : fmtNum(t.rows_done)),
              el("td", { class: "n" }, t.rows_estimated === null ? "\u2013" : "~" + fmtNum(t.rows_estimated)), pct,
              el("td", { class: "n" }, fmtNum(t.rows_per_second)),
              el("td", { class: "n" }, t.state === "done" ? "\u2013" : t.eta_seconds === null ? "unknown" : fmtSecs(t.eta_seconds)));
    tb.appendChild(tr);
  }
}
function render(st) {
  document.getElementById("uptime").textContent = "up " + fmtSecs(st.uptime_seconds) + " \u00b7 updated " + new Date(st.now_ms).toLocaleTimeString();
  drawDiagram(st);
  drawSnapshot(st.snapshot);
  document.getElementById("lsn").textContent = st.last_committed_lsn || "\u2013";
  document.getElementById("batch").textContent = st.last_batch_id >= 0 ? st.last_batch_id : "\u2013";
  document.getElementById("batches").textContent = fmtNum(st.batches_committed_total);
  document.getElementById("bytes").textContent = fmtBytes(st.bytes_written_total);
  document.getElementById("slotlag").textContent = fmtBytes(st.slot_lag_bytes);
  document.getElementById("freshness").textContent = fmtSecs(st.freshness_seconds);
  const views = document.getElementById("views"); views.replaceChildren();
  document.getElementById("views-meta").textContent = st.views.length ? "" :
    (st.views_file ? "no views in " + st.views_file : "no views file: set views.file in cdcpipe.yaml (docs/VIEWS.md)");
  for (const v of st.views) views.appendChild(drawView(v));
  const tb = document.getElementById("tables"); tb.replaceChildren();
  for (const [name, c] of Object.entries(st.tables)) {
    const tr = el("tr", { "data-table": name });
    tr.append(el("td", {}, name), el("td", { class: "n" }, fmtNum(c.events_captured_total)), el("td", { class: "n" }, fmtNum(c.events_written_total)));
    tb.appendChild(tr);
  }
  const ul = document.getElementById("errors"); ul.replaceChildren();
  if (!st.recent_errors.length) { ul.className = "empty"; ul.appendChild(el("li", {}, "none")); }
  else { ul.className = ""; st.recent_errors.slice().reverse().forEach(e => ul.appendChild(el("li", {}, e))); }
}
async function poll() {
  const conn = document.getElementById("conn");
  try {
    const r = await fetch("api/status" + tokenQuery, { cache: "no-store" });
    if (!r.ok) throw new Error("HTTP " + r.status);
    render(await r.json());
    conn.textContent = "live"; conn.className = "live";
  } catch (e) {
    conn.textContent = "disconnected (" + e.message + ")"; conn.className = "down";
  }
  setTimeout(poll, 1000);
}
poll();
</script>
</body>
</html>
)HTML";

}  // namespace

std::string_view DashboardHtml() { return kPage; }

}  // namespace cdc::http
