// Test harness: a small HTTP server that serves the fixture pages and the tracker builds and
// records every tracking request it receives, plus a headless Chromium launcher.
//
// startServer({ trackerBase }) lets a test point the fixtures' tracker at another tracker URL
// (for example the Edgemeter origin): fixtures use {{TRACKER_BASE}} (default: this server,
// `//127.0.0.1:PORT/`) and {{SCRIPT_SRC}}: `/matomo.js`, which is the build named by the
// TRACKER_BUILD environment variable (`default`, the default, or `full`: scripts/test-tracker runs
// every test on both), or with `?script=default|full|stock` that build, or the stock matomo.js
// (also `?stock=1`).
//
// A bulk request (a JSON body `{"requests": ["?a=1&...", ...]}`, as matomo.js sends content
// impressions) is recorded as its requests, each with `bulk` set.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

const root = new URL('..', import.meta.url);
export const BUILD = process.env.TRACKER_BUILD || 'default';
if (!['default', 'full'].includes(BUILD)) throw new Error(`TRACKER_BUILD must be default or full, not ${BUILD}`);
export const FULL = BUILD === 'full';
const DIST = { default: 'dist/matomo.js', full: 'dist/matomo.full.js' };
const SCRIPT_SRC = { default: '/dist/matomo.js', full: '/dist/matomo.full.js', stock: '/stock/matomo.js' };
const GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAAAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==', 'base64');
export const STRICT_CSP = "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self'";

// Headers a fixture needs, by file name.
const FIXTURE_HEADERS = {
  'csp.html': { 'Content-Security-Policy': STRICT_CSP },
  'csp-spa.html': { 'Content-Security-Policy': STRICT_CSP },
};

/** One recorded tracking request: ordered parameter list from the query, then the body. */
export class TrackingRequest {
  constructor(method, url, body) {
    this.method = method;
    const u = new URL(url, 'http://x');
    this.query = [...u.searchParams];
    this.body = body;
    this.bodyParams = body ? [...new URLSearchParams(body)] : [];
    this.params = [...this.query, ...this.bodyParams];
  }
  get(name) { const p = this.params.find(([k]) => k === name); return p ? p[1] : undefined; }
  has(name) { return this.params.some(([k]) => k === name); }
  names() { return this.params.map(([k]) => k); }
}

export async function startServer({ trackerBase, stockPath } = {}) {
  const requests = [];
  const server = createServer(async (req, res) => {
    const u = new URL(req.url, 'http://x');
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks).toString('utf8');
    if (u.pathname === '/matomo.php' || u.pathname === '/piwik.php') {
      const bulk = body.startsWith('{') && JSON.parse(body).requests;
      for (const one of bulk || [null]) {
        const r = one === null ? new TrackingRequest(req.method, req.url, body) : new TrackingRequest(req.method, one, '');
        r.contentType = req.headers['content-type'] || '';
        r.bulk = !!bulk;
        requests.push(r);
      }
      if (bulk || new URLSearchParams(u.search + '&' + body).get('send_image') === '0') { res.writeHead(204); res.end(); return; }
      res.writeHead(200, { 'Content-Type': 'image/gif', 'Cache-Control': 'no-store' });
      res.end(GIF);
      return;
    }
    const dist = { '/matomo.js': DIST[BUILD], '/piwik.js': DIST[BUILD], '/dist/matomo.js': DIST.default, '/dist/matomo.full.js': DIST.full }[u.pathname];
    if (dist) {
      res.writeHead(200, { 'Content-Type': 'text/javascript' });
      res.end(await readFile(new URL(dist, root)));
      return;
    }
    if (u.pathname === '/stock/matomo.js' && stockPath) {
      res.writeHead(200, { 'Content-Type': 'text/javascript' });
      res.end(await readFile(stockPath));
      return;
    }
    const m = /^\/fixtures\/([\w-]+\.html)$/.exec(u.pathname);
    const file = m && new URL('test/fixtures/' + m[1], root);
    if (file && existsSync(file)) {
      const base = trackerBase || `//${req.headers.host}/`;
      const html = (await readFile(file, 'utf8'))
        .replaceAll('{{TRACKER_BASE}}', base)
        .replaceAll('{{SCRIPT_SRC}}', SCRIPT_SRC[u.searchParams.get('stock') === '1' ? 'stock' : u.searchParams.get('script')] || '/matomo.js');
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', ...(FIXTURE_HEADERS[m[1]] || {}) });
      res.end(html);
      return;
    }
    if (u.pathname === '/favicon.ico') { res.writeHead(204); res.end(); return; }
    // Any other same-origin page (SPA routes, internal links) gets a small page.
    res.writeHead(u.pathname.startsWith('/page') ? 200 : 404, { 'Content-Type': 'text/html' });
    res.end('<!doctype html><title>page</title>');
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const origin = `http://127.0.0.1:${server.address().port}`;
  return {
    origin,
    requests,
    url: (path) => origin + path,
    /** Waits until `n` requests match `pred` (default: any), returns them. */
    async waitFor(n = 1, pred = () => true, timeout = 8000) {
      const end = Date.now() + timeout;
      for (;;) {
        const found = requests.filter(pred);
        if (found.length >= n) return found;
        if (Date.now() > end) {
          throw new Error(`waited ${timeout} ms for ${n} tracking request(s), got ${found.length}: ` +
            JSON.stringify(requests.map((r) => r.params)));
        }
        await new Promise((ok) => setTimeout(ok, 50));
      }
    },
    clear() { requests.length = 0; },
    close: () => new Promise((ok) => { server.closeAllConnections(); server.close(ok); }),
  };
}

export const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-quic'];

/** Headless Chromium; playwright's launch() gives every browser a fresh temporary user-data-dir. */
export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package`);
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS });
}

/** A new context and page; collects console errors/warnings and CSP violations. */
export async function openPage(browser, { initScript, referer } = {}) {
  const context = await browser.newContext();
  if (initScript) await context.addInitScript(initScript);
  await context.addInitScript(() => {
    window.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
  });
  const page = await context.newPage();
  const log = { errors: [], warnings: [] };
  page.on('console', (m) => {
    if (m.type() === 'error') log.errors.push(m.text());
    if (m.type() === 'warning') log.warnings.push(m.text());
  });
  page.on('pageerror', (e) => log.errors.push(String(e)));
  return { context, page, log, referer };
}

export const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));
