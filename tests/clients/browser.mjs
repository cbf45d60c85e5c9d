// Drives a real tracker in headless Chromium against a running Edgemeter origin, the way a site
// visitor would: arrives from another site, views a page, searches, plays a video (event), clicks
// an outlink and a download, moves to a second page and converts a goal. Prints JSON describing
// what it did and every tracking request the browser completed, for tests/tests/clients.rs.
//
// Usage: node browser.mjs --origin http://127.0.0.1:PORT --idsite N --tracker stock|ours|full
//   stock: Matomo 5.3.1's matomo.js (Debian trixie's package, fetched into /tmp, see stock.mjs),
//          served by this script's fixture server;
//   ours:  the tracker the origin serves at /matomo.js (tracker-js/dist/matomo.js);
//   full:  its full build, served at /matomo.full.js (tracker-js/dist/matomo.full.js).
// The tracker URL is always the origin's /matomo.php. Exits non-zero on any failure.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { fetchStock } from './stock.mjs';

const CHROMIUM = '/usr/bin/chromium';
// Without the networking flags Chromium tries to reach the internet (TOOLCHAIN.md).
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

const { values: opts } = parseArgs({
  options: { origin: { type: 'string' }, idsite: { type: 'string' }, tracker: { type: 'string' } },
});
if (!opts.origin || !opts.idsite || !['stock', 'ours', 'full'].includes(opts.tracker)) {
  throw new Error('usage: node browser.mjs --origin URL --idsite N --tracker stock|ours|full');
}
const origin = opts.origin.replace(/\/$/, '');
const stockPath = opts.tracker === 'stock' ? fetchStock() : null;
if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package`);

// The stock snippet (plugins/Morpheus/templates/javascriptCode.twig), pointed at the origin.
const page = (title, body) => `<!doctype html>
<html><head><meta charset="utf-8"><title>${title}</title>
<!-- Matomo -->
<script>
  var _paq = window._paq = window._paq || [];
  /* tracker methods like "setCustomDimension" should be called before "trackPageView" */
  _paq.push(['trackPageView']);
  _paq.push(['enableLinkTracking']);
  (function() {
    var u="${origin}/";
    _paq.push(['setTrackerUrl', u+'matomo.php']);
    _paq.push(['setSiteId', '${opts.idsite}']);
    var d=document, g=d.createElement('script'), s=d.getElementsByTagName('script')[0];
    g.async=true; g.src='${stockPath ? '/stock/matomo.js' : origin + (opts.tracker === 'full' ? '/matomo.full.js' : '/matomo.js')}'; s.parentNode.insertBefore(g,s);
  })();
</script>
<!-- End Matomo Code -->
</head><body>${body}
<script>
  // Keep the page on outlink and download clicks: the tracker listens before this handler.
  document.addEventListener('click', function (e) { if (e.target.dataset.stay) e.preventDefault(); });
</script>
</body></html>`;

const PAGES = {
  '/shop/': page('Shop home', `<h1>Shop</h1>
<a id="out" data-stay="1" href="https://partner.example.org/offer?ref=shop">partner</a>
<a id="dl" data-stay="1" href="/files/catalogue.pdf">catalogue</a>`),
  '/shop/cart': page('Cart', '<h1>Cart</h1>'),
  // The referring site: its own policy sends the full URL as the referrer.
  '/blog/post': `<!doctype html><html><head><meta name="referrer" content="unsafe-url">
<title>Blog</title></head><body><a id="go" href="{{SHOP}}">shop</a></body></html>`,
};

const server = createServer(async (req, res) => {
  const u = new URL(req.url, 'http://x');
  if (u.pathname === '/stock/matomo.js' && stockPath) {
    res.writeHead(200, { 'Content-Type': 'text/javascript' });
    res.end(await readFile(stockPath));
    return;
  }
  const html = PAGES[u.pathname];
  if (!html) { res.writeHead(404); res.end(); return; }
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
  res.end(html.replace('{{SHOP}}', shopUrl));
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const port = server.address().port;
const shopUrl = `http://127.0.0.1:${port}/shop/`;
const cartUrl = `http://127.0.0.1:${port}/shop/cart`;
// Another host name for the same server, so the blog is a different site from the shop.
const blogUrl = `http://localhost:${port}/blog/post`;

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
const sent = [];
const failures = [];
try {
  const context = await browser.newContext();
  const tab = await context.newPage();
  const errors = [];
  tab.on('pageerror', (e) => errors.push(String(e)));
  const isTracking = (r) => r.url().startsWith(origin + '/matomo.php');
  context.on('requestfinished', async (r) => {
    if (!isTracking(r)) return;
    const resp = await r.response();
    sent.push({ method: r.method(), url: r.url(), body: r.postData() || '', status: resp ? resp.status() : 0 });
  });
  context.on('requestfailed', (r) => { if (isTracking(r)) failures.push(`${r.url()}: ${r.failure()?.errorText}`); });

  // Waits until the browser completed `n` tracking requests in all (the origin commits before it
  // answers, so each action is stored before the next one starts: one visit, in order).
  const waitSent = async (n, what) => {
    const end = Date.now() + 10000;
    while (sent.length < n) {
      if (failures.length) throw new Error(`tracking request failed: ${failures.join('; ')}`);
      if (Date.now() > end) throw new Error(`${what}: waited for ${n} tracking requests, got ${JSON.stringify(sent)}`);
      await new Promise((ok) => setTimeout(ok, 50));
    }
  };
  const push = (cmd) => tab.evaluate((c) => window._paq.push(c), cmd);

  await tab.goto(blogUrl);
  await tab.click('#go');
  await tab.waitForURL(shopUrl);
  await waitSent(1, 'pageview');
  await push(['trackSiteSearch', 'blue shoes', 'Shoes', 3]);
  await waitSent(2, 'site search');
  await push(['trackEvent', 'Video', 'Play', 'Intro', 12.5]);
  await waitSent(3, 'event');
  await tab.click('#out');
  await waitSent(4, 'outlink');
  await tab.click('#dl');
  await waitSent(5, 'download');
  await tab.evaluate((url) => { window.location.href = url; }, cartUrl);
  await tab.waitForURL(cartUrl);
  await waitSent(6, 'second pageview');
  await push(['trackGoal', 1, 9.99]);
  await waitSent(7, 'goal');
  if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
  await context.close();
} finally {
  await browser.close();
  server.close();
}

const bad = sent.filter((s) => s.status < 200 || s.status > 299);
if (bad.length) throw new Error(`the origin refused tracking requests: ${JSON.stringify(bad)}`);
process.stdout.write(JSON.stringify({
  tracker: opts.tracker,
  referrer: blogUrl,
  pages: [{ url: shopUrl, title: 'Shop home' }, { url: cartUrl, title: 'Cart' }],
  search: { keyword: 'blue shoes', category: 'Shoes', count: 3 },
  event: { category: 'Video', action: 'Play', name: 'Intro', value: 12.5 },
  outlink: 'https://partner.example.org/offer?ref=shop',
  download: `http://127.0.0.1:${port}/files/catalogue.pdf`,
  goal: { idgoal: 1, revenue: 9.99 },
  requests: sent,
}, null, 1) + '\n');
