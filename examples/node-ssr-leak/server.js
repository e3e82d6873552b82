// A small server-side-rendering shop for leakwatch's end-to-end example.
//
// Every page is a tree of components. Before rendering, each component's
// preload() "fetches" its data from a backend (simulated: a little latency
// and a JSON body), and the fetch results, with their metadata (URL,
// status, headers, timing), go into a preload store that the renderer
// reads and then serialises into the page for hydration, as data-fetching
// SSR frameworks do.
//
// VARIANT selects where that store lives:
//
//   leaky  one module-level Map, keyed by request. The upgrade that moved
//          preloading to the server kept the client's habit of one global
//          store, and nothing ever deletes a request's entry: every
//          request's fetch results stay reachable forever. Memory that
//          survives garbage collection grows with traffic.
//   fixed  a store per request, dropped with the response.
//
// Both variants keep rendered product sections in a bounded LRU cache
// (LRU_MAX entries) that fills over the first bursts and then plateaus, and
// in both the heap moves with load (see LATENCY_MS): it grows during a
// burst and is given back after it.
//
// Environment:
//   VARIANT       leaky | fixed (default fixed)
//   PORT          listen port (default 8080)
//   HOST          listen address (default 127.0.0.1)
//   LRU_MAX       rendered sections kept in the LRU cache (default 2000)
//   ITEMS         items per fetched list; scales the data per request
//                 and so the leak per request (default 24)
//   LATENCY_MS    simulated backend latency, uniform from 0 to this
//                 (default 200). Requests wait on their backend calls, so
//                 under load many are in flight, and what they hold
//                 survives young-generation collections: V8 promotes it,
//                 the old generation grows during a burst, and V8's memory
//                 reducer gives the memory back once the burst is over.
//   CATALOGUE     products held in memory by the simulated backend
//                 (default 100000, about 60 MB of heap)
//
// GET /stats answers the process's memory usage and the stores' sizes as
// JSON; every other route renders a page.
'use strict';
const http = require('http');
const { URL } = require('url');

const env = (k, d) => (process.env[k] !== undefined && process.env[k] !== '' ? process.env[k] : d);
const VARIANT = env('VARIANT', 'fixed');
if (VARIANT !== 'leaky' && VARIANT !== 'fixed') {
  console.error(`VARIANT must be leaky or fixed, not ${VARIANT}`);
  process.exit(2);
}
const PORT = Number(env('PORT', 8080));
const HOST = env('HOST', '127.0.0.1');
const LRU_MAX = Number(env('LRU_MAX', 2000));
const ITEMS = Number(env('ITEMS', 24));
const LATENCY_MS = Number(env('LATENCY_MS', 200));
const CATALOGUE = Number(env('CATALOGUE', 100000));

// ---- the simulated backend -------------------------------------------------

const WORDS = ['linen', 'oak', 'copper', 'wool', 'stone', 'glass', 'cedar', 'felt',
  'brass', 'clay', 'slate', 'amber', 'river', 'north', 'harbour', 'meadow'];
function word(n) { return WORDS[n % WORDS.length]; }
function title(n) { return `${word(n)} ${word(n >> 4)} ${word(n >> 8)}`; }

function product(id) {
  return {
    id, sku: `SKU-${id.toString(36).toUpperCase()}`, title: title(id),
    price: ((id * 7919) % 20000) / 100, currency: 'EUR',
    stock: (id * 31) % 57, rating: ((id * 13) % 50) / 10,
    tags: [word(id), word(id + 3), word(id + 7)],
    image: `/img/${id}.webp`,
    description: `The ${title(id)}, made in ${word(id + 5)} from ${word(id + 9)}; item ${id} of the collection. `.repeat(3),
  };
}

// The catalogue the backend serves, loaded once at startup, as an app keeps
// its reference data in memory: it gives the heap a realistic live size,
// and V8 sizes its growth under load from that.
const catalogue = Array.from({ length: CATALOGUE }, (_, id) => product(id));
const pick = (n) => catalogue[((n % CATALOGUE) + CATALOGUE) % CATALOGUE];

const backend = {
  '/api/nav': () => ({ sections: WORDS.map((w, i) => ({ slug: w, label: w.toUpperCase(), count: 100 + i })) }),
  '/api/user': (q) => ({ id: q.session, name: `guest-${q.session}`, cart: Number(q.session) % 5, locale: 'en-GB' }),
  '/api/products': (q) => {
    const base = Number(q.seed) * 101;
    return { total: CATALOGUE, items: Array.from({ length: ITEMS }, (_, i) => pick(base + i * 17)) };
  },
  '/api/product': (q) => pick(Number(q.id)),
  '/api/reviews': (q) => ({
    product: Number(q.id),
    reviews: Array.from({ length: Math.ceil(ITEMS / 2) }, (_, i) => ({
      author: `user${(Number(q.id) + i) % 997}`, stars: 1 + ((Number(q.id) + i) % 5),
      text: `Bought the ${title(Number(q.id) + i)} and it is ${word(i)}. `.repeat(3),
    })),
  }),
};

let fetches = 0;
// fetchJSON: what a component's preload() calls. The result keeps the
// metadata a data layer records for hydration and devtools.
function fetchJSON(path, query) {
  const started = process.hrtime.bigint();
  const latency = Math.random() * LATENCY_MS;
  return new Promise((resolve) => setTimeout(() => {
    const data = backend[path](query);
    const body = JSON.stringify(data);
    fetches++;
    resolve({
      url: `http://catalogue.internal${path}?${new URLSearchParams(query)}`,
      status: 200,
      headers: { 'content-type': 'application/json', 'content-length': String(body.length),
        'x-request-id': `${fetches.toString(16)}-${Date.now().toString(16)}`, etag: `"${body.length}-${fetches}"` },
      timing: { startNs: started.toString(), latencyMs: latency },
      body,
      data: JSON.parse(body),
    });
  }, latency));
}

// ---- components ---------------------------------------------------------------
// Rendered as element trees first, then to a string, as React's
// renderToString does: most of a request's allocation is this short-lived
// tree, which is why the heap grows under load and shrinks after it.

function h(type, props, ...children) { return { type, props: props || {}, children: children.flat() }; }
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));
function renderToString(node) {
  if (node === null || node === undefined || node === false) return '';
  if (typeof node !== 'object') return esc(node);
  if (node.type === 'raw') return node.props.html;
  const attrs = Object.entries(node.props).map(([k, v]) => ` ${k}="${esc(v)}"`).join('');
  return `<${node.type}${attrs}>${node.children.map(renderToString).join('')}</${node.type}>`;
}

// A bounded LRU cache of rendered sections (Map keeps insertion order). Both
// variants have it; it fills over the first bursts, then plateaus.
const lru = new Map();
function cached(key, render) {
  let html = lru.get(key);
  if (html !== undefined) {
    lru.delete(key);
  } else {
    html = renderToString(render());
    if (lru.size >= LRU_MAX) lru.delete(lru.keys().next().value);
  }
  lru.set(key, html);
  return h('raw', { html });
}

const card = (p) => h('article', { class: 'card', 'data-sku': p.sku },
  h('img', { src: p.image, alt: '' }), h('h3', null, p.title),
  h('p', { class: 'price' }, `${p.price.toFixed(2)} ${p.currency}`),
  h('ul', { class: 'tags' }, p.tags.map((t) => h('li', null, t))),
  h('p', { class: 'rating' }, '★'.repeat(Math.round(p.rating))),
  h('p', { class: 'stock' }, p.stock > 0 ? `${p.stock} in stock` : 'sold out'));

const components = {
  nav: { preload: () => fetchJSON('/api/nav', {}),
    render: (r) => h('nav', null, r.data.sections.map((s) => h('a', { href: `/category/${s.slug}` }, `${s.label} (${s.count})`))) },
  user: { preload: (ctx) => fetchJSON('/api/user', { session: ctx.session }),
    render: (r) => h('header', null, `Hello ${r.data.name}`, h('a', { href: '/cart' }, `cart (${r.data.cart})`)) },
  listing: { preload: (ctx) => fetchJSON('/api/products', { seed: ctx.seed }),
    render: (r) => h('section', { class: 'grid' }, r.data.items.map(card)) },
  product: { preload: (ctx) => fetchJSON('/api/product', { id: ctx.id }),
    render: (r) => cached(`product:${r.data.id}`, () => h('main', null, h('h1', null, r.data.title), card(r.data),
      h('p', { class: 'description' }, r.data.description))) },
  reviews: { preload: (ctx) => fetchJSON('/api/reviews', { id: ctx.id }),
    render: (r) => cached(`reviews:${r.data.product}`, () => h('section', { class: 'reviews' }, r.data.reviews.map((v) =>
      h('blockquote', null, h('span', null, '★'.repeat(v.stars)), h('p', null, v.text), h('cite', null, v.author))))) },
  related: { preload: (ctx) => fetchJSON('/api/products', { seed: ctx.id % 400 }),
    render: (r) => h('aside', null, r.data.items.slice(0, 8).map(card)) },
};

const routes = [
  { re: /^\/$/, page: 'home', parts: ['nav', 'user', 'listing'], ctx: () => ({ seed: 0 }) },
  { re: /^\/category\/([a-z]+)$/, page: 'category', parts: ['nav', 'user', 'listing'],
    ctx: (m, u) => ({ seed: WORDS.indexOf(m[1]) * 10 + Number(u.searchParams.get('page') || 1) }) },
  { re: /^\/product\/(\d+)$/, page: 'product', parts: ['nav', 'user', 'product', 'reviews', 'related'],
    ctx: (m) => ({ id: Number(m[1]) % CATALOGUE }) },
  { re: /^\/search$/, page: 'search', parts: ['nav', 'user', 'listing'],
    ctx: (m, u) => ({ seed: [...(u.searchParams.get('q') || '')].reduce((a, c) => a + c.charCodeAt(0), 0) % 500 }) },
];

// ---- the preload store: the one difference between the variants -------------

// leaky: module-level, keyed by request, never cleared.
const globalPreloads = new Map();
let requestSeq = 0;

function storeFor(requestId) {
  if (VARIANT === 'leaky') {
    const store = new Map();
    globalPreloads.set(requestId, store);  // "so the client bundle can find it"
    return store;
  }
  return new Map();  // fixed: lives as long as this request
}

async function renderPage(route, m, u, req) {
  const requestId = ++requestSeq;
  const ctx = { ...route.ctx(m, u), session: String((req.socket.remotePort || 0) % 1000) };
  const store = storeFor(requestId);
  await Promise.all(route.parts.map(async (name) => { store.set(name, await components[name].preload(ctx)); }));
  const body = route.parts.map((name) => renderToString(components[name].render(store.get(name)))).join('\n');
  const state = JSON.stringify(Object.fromEntries([...store].map(([k, r]) => [k, r.data])));
  return `<!doctype html><html><head><meta charset="utf-8"><title>${route.page}</title></head>` +
    `<body>${body}<script>window.__PRELOADED__=${state.replace(/</g, '\\u003c')}</script></body></html>`;
}

let served = 0;
const server = http.createServer((req, res) => {
  const u = new URL(req.url, 'http://x');
  if (u.pathname === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ variant: VARIANT, served, fetches, preloadStores: globalPreloads.size,
      lruEntries: lru.size, memory: process.memoryUsage() }));
    return;
  }
  for (const route of routes) {
    const m = route.re.exec(u.pathname);
    if (!m) continue;
    renderPage(route, m, u, req).then((html) => {
      served++;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(html);
    }, (err) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err));
    });
    return;
  }
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found\n');
});
server.keepAliveTimeout = 30000;
server.listen(PORT, HOST, () => console.log(`node-ssr-leak ${VARIANT} listening on ${HOST}:${PORT} (pid ${process.pid})`));
// As PID 1 in a container, node gets no default SIGTERM handler.
function stop() {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
