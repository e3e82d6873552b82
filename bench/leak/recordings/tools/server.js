// A small server-side-rendering HTTP server for leakwatch recordings.
// Renders an HTML product page per request (string building plus JSON),
// keeps rendered pages in a bounded LRU cache (fills up, then plateaus),
// and can be told to misbehave through the environment:
//
//   PORT              listen port (default 18080)
//   LRU_MAX           rendered pages kept in the LRU cache (default 2000)
//   ITEM_IDS          distinct page ids requested by load.js (cache keys)
//   LEAK              1: keep every request's page, parsed data and a
//                     closure in global structures, never released
//   LEAK_COPIES       parsed copies of the page data leaked per request (1)
//   LEAK_AFTER_S      start leaking only after this many seconds of uptime
//   LEAK_EVERY        leak on every Nth request only (default 1)
//   CHURN_OBJS        per request, allocate this many short-lived objects
//                     and hold them for CHURN_HOLD_MS (GC sawtooth)
//   STEP_AT_S         at this uptime load a large catalogue once and keep it
//   STEP_OBJS         objects in that catalogue
'use strict';
const http = require('http');

const env = (k, d) => (process.env[k] !== undefined ? Number(process.env[k]) : d);
const PORT = env('PORT', 18080);
const LRU_MAX = env('LRU_MAX', 2000);
const LEAK = env('LEAK', 0);
const LEAK_COPIES = env('LEAK_COPIES', 1);
const LEAK_AFTER_S = env('LEAK_AFTER_S', 0);
const LEAK_EVERY = env('LEAK_EVERY', 1);
let served = 0;
const CHURN_OBJS = env('CHURN_OBJS', 0);
const CHURN_HOLD_MS = env('CHURN_HOLD_MS', 1500);
const STEP_AT_S = env('STEP_AT_S', -1);
const STEP_OBJS = env('STEP_OBJS', 0);
const started = Date.now();

// ---- bounded LRU (Map keeps insertion order) -----------------------------
const lru = new Map();
function lruGet(k) {
  const v = lru.get(k);
  if (v !== undefined) { lru.delete(k); lru.set(k, v); }
  return v;
}
function lruSet(k, v) {
  lru.set(k, v);
  while (lru.size > LRU_MAX) lru.delete(lru.keys().next().value);
}

// ---- the leak: a request log nobody trims, and listeners never removed ---
const requestLog = [];
const listeners = new Map();

// ---- the one-off catalogue (healthy step) --------------------------------
let catalogue = null;
if (STEP_AT_S >= 0) {
  setTimeout(() => {
    catalogue = [];
    for (let i = 0; i < STEP_OBJS; i++) {
      catalogue.push({ sku: 'SKU-' + i, name: 'Product number ' + i, price: (i % 997) / 7, tags: ['a' + (i % 13), 'b' + (i % 29)] });
    }
    console.log(`catalogue loaded: ${catalogue.length} objects`);
  }, STEP_AT_S * 1000);
}

let seq = 0;
function makeData(id) {
  const items = [];
  for (let i = 0; i < 40; i++) {
    items.push({ id: id * 100 + i, title: `Item ${id}-${i}`, price: ((id * 31 + i * 17) % 10000) / 100,
                 stock: (id + i) % 50, rating: ((id + i) % 5) + 1 });
  }
  return { page: id, generated: new Date().toISOString(), seq: ++seq, items };
}

function render(id) {
  const data = makeData(id);
  const json = JSON.stringify(data);
  let html = '<!doctype html><html><head><title>Page ' + id + '</title></head><body>';
  html += '<h1>Catalogue page ' + id + '</h1><ul>';
  for (const it of data.items) {
    html += `<li class="item" data-id="${it.id}"><b>${it.title}</b> <span>${it.price.toFixed(2)} EUR</span>` +
            ` <i>${'*'.repeat(it.rating)}</i> stock ${it.stock}</li>`;
  }
  html += '</ul><script>window.__DATA__=' + json + '</script></body></html>';
  return { html, json };
}

function churn() {
  const a = new Array(CHURN_OBJS);
  for (let i = 0; i < CHURN_OBJS; i++) a[i] = { i, s: 'x' + i, v: [i, i + 1] };
  setTimeout(() => { a.length = 0; }, CHURN_HOLD_MS);
}

const server = http.createServer((req, res) => {
  const m = /^\/page\/(\d+)/.exec(req.url);
  const id = m ? Number(m[1]) : 0;
  let page = lruGet(id);
  let json = null;
  if (page === undefined) {
    const r = render(id);
    page = r.html;
    json = r.json;
    lruSet(id, page);
  }
  if (CHURN_OBJS > 0) churn();
  served++;
  if (LEAK && served % LEAK_EVERY === 0 && (Date.now() - started) / 1000 >= LEAK_AFTER_S) {
    // Per-request state kept "for debugging" and a listener per request.
    const body = render(id);  // a fresh page for the log, as if per user
    const copies = [];
    for (let c = 0; c < LEAK_COPIES; c++) copies.push(JSON.parse(body.json));
    const entry = { at: Date.now(), url: req.url, ua: req.headers['user-agent'], html: body.html, data: copies };
    requestLog.push(entry);
    listeners.set(seq, () => entry.at);
  }
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(page);
});
server.keepAliveTimeout = 30000;
server.listen(PORT, '127.0.0.1', () => console.log(`listening on ${PORT} pid ${process.pid}`));
