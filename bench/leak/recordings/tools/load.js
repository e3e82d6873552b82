// Fixed-rate HTTP load for the recordings (no third-party tools needed).
//   node load.js URL_BASE RATE_PER_S DURATION_S [ON_S OFF_S [START_DELAY_S [ID_RANGE]]]
// With ON_S/OFF_S the load is bursty: RATE for ON_S seconds, idle OFF_S.
// Requests go to URL_BASE/page/<random id below ID_RANGE>.
'use strict';
const http = require('http');
const [base, rate, dur, on = 0, off = 0, delay = 0, ids = 5000] = process.argv.slice(2).map((v, i) => (i ? Number(v) : v));
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
const t0 = Date.now() + delay * 1000;
let ok = 0, err = 0;
function tick() {
  const now = Date.now();
  if (now - t0 > dur * 1000) { console.log(`done ok=${ok} err=${err}`); process.exit(0); }
  if (now >= t0) {
    const x = (now - t0) / 1000;
    const active = !on || (x % (on + off)) < on;
    if (active) {
      const id = Math.floor(Math.random() * ids);
      const req = http.get(base + '/page/' + id, { agent, timeout: 5000 }, (res) => { res.resume(); res.on('end', () => ok++); });
      req.on('error', () => err++);
      req.on('timeout', () => req.destroy());
    }
  }
}
setInterval(tick, 1000 / rate);
setInterval(() => console.log(`${new Date().toISOString()} ok=${ok} err=${err}`), 60000);
