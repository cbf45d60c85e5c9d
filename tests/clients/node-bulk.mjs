// Sends one bulk request with the official Node client, npm `matomo-tracker` 2.2.4 (`trackBulk`),
// to a running Edgemeter origin: four visitors with pageviews, events and a goal, back-dated with
// `cdt` and placed with `cip` under the super user's token_auth, plus one back-dated request
// without a token that Matomo rejects. Prints JSON: the requests sent, the HTTP status and the
// parsed bulk response, for tests/tests/node_bulk.rs.
//
// Usage: node node-bulk.mjs --origin http://127.0.0.1:PORT --idsite N --token T --base-time UNIX
// The base time must be more than 24 hours ago (so `cdt` needs the token) and at least 35 minutes
// before the next midnight UTC (so no visit is split by the midnight rule).
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const MatomoTracker = require('matomo-tracker');

const { values: opts } = parseArgs({
  options: {
    origin: { type: 'string' }, idsite: { type: 'string' }, token: { type: 'string' },
    'base-time': { type: 'string' },
  },
});
if (!opts.origin || !opts.idsite || !opts.token || !opts['base-time']) {
  throw new Error('usage: node node-bulk.mjs --origin URL --idsite N --token T --base-time UNIX');
}
const T = Number(opts['base-time']);
const token = opts.token;
const page = (path) => `https://shop.example${path}`;

// [offset seconds from T, request]; `null` offset = now (no cdt).
const A = { _id: 'a1a1a1a1a1a1a1a1', cip: '203.0.113.10', token_auth: token };
const B = { _id: 'b2b2b2b2b2b2b2b2', cip: '198.51.100.20', token_auth: token };
const C = { uid: 'user-42', token_auth: token };
const timeline = [
  [0, { ...A, url: page('/'), action_name: 'Home', urlref: 'https://news.example.net/article' }],
  [10, { ...B, url: page('/'), action_name: 'Home' }],
  [30, { ...C, url: page('/account'), action_name: 'Account' }],
  // Back-dated by more than 24 h without a token: Matomo refuses it (400, counted as invalid).
  [50, { _id: 'e5e5e5e5e5e5e5e5', url: page('/'), action_name: 'Home' }],
  [60, { ...A, url: page('/'), e_c: 'Video', e_a: 'Play', e_n: 'Intro', e_v: 3 }],
  [90, { ...C, url: page('/orders'), action_name: 'Orders' }],
  [120, { ...A, url: page('/product'), action_name: 'Product' }],
  [180, { ...A, url: page('/product'), idgoal: 1, revenue: 20 }],
  [1000, { ...B, url: page('/about'), action_name: 'About' }],
  [1700, { ...B, url: page('/about'), e_c: 'Newsletter', e_a: 'Subscribe' }],
  // 1820 s after A's last request: more than 30 minutes, so a second visit.
  [2000, { ...A, url: page('/'), action_name: 'Home' }],
  [null, { _id: 'd4d4d4d4d4d4d4d4', url: page('/'), action_name: 'Home' }],
];
const requests = timeline.map(([offset, req]) => (offset === null ? { ...req } : { ...req, cdt: T + offset }));

const tracker = new MatomoTracker(Number(opts.idsite), `${opts.origin.replace(/\/$/, '')}/matomo.php`);
let status = null;
tracker.on('error', (e) => { status = e; });
const body = await new Promise((ok, fail) => {
  const timer = setTimeout(() => fail(new Error('no bulk response within 30 s')), 30000);
  tracker.trackBulk(requests.map((r) => ({ ...r })), (data) => { clearTimeout(timer); ok(data); });
});
let response;
try { response = JSON.parse(body); } catch { throw new Error(`bulk response is not JSON (error ${status}): ${body}`); }

process.stdout.write(JSON.stringify({
  error_status: status,
  response,
  sent: requests.length,
  visitors: {
    a: A._id, b: B._id, c: createHash('sha1').update(C.uid).digest('hex').slice(0, 16),
    d: 'd4d4d4d4d4d4d4d4', rejected: 'e5e5e5e5e5e5e5e5',
  },
}) + '\n');
