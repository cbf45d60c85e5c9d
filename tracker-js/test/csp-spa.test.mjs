// The data-attribute tag: fully tracked under `script-src 'self'` (no inline script), and SPA mode.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage, sleep } from './harness.mjs';

let server, browser;
before(async () => { server = await startServer(); browser = await launchBrowser(); });
after(async () => { await browser?.close(); await server?.close(); });

test('a strict-CSP page with the data-attribute tag is tracked with no violation', async () => {
  server.clear();
  const { page, context, log } = await openPage(browser);
  const res = await page.goto(server.url('/fixtures/csp.html'));
  assert.match(res.headers()['content-security-policy'], /script-src 'self'/);
  const [pv] = await server.waitFor(1);
  assert.equal(pv.get('idsite'), '3');
  assert.equal(pv.get('action_name'), 'CSP page');
  assert.equal(pv.get('url'), server.url('/fixtures/csp.html'));
  // Link tracking is on by default: an outlink click is tracked.
  await page.evaluate(() => document.addEventListener('click', (e) => e.preventDefault()));
  await page.click('#out');
  const [click] = await server.waitFor(1, (r) => r.has('link'));
  assert.equal(click.get('link'), 'https://external.example/from-csp');
  assert.equal(click.get('pv_id'), pv.get('pv_id'));
  // Fall back to the image too: img-src 'self' allows it.
  await page.evaluate(() => { delete Navigator.prototype.sendBeacon; window.fetch = undefined; window._paq.push(['trackEvent', 'Img', 'Csp']); });
  const [img] = await server.waitFor(1, (r) => r.get('e_c') === 'Img');
  assert.equal(img.method, 'GET');
  assert.deepEqual(await page.evaluate(() => window.__violations), []);
  assert.deepEqual(log.errors, []);
  await context.close();
});

test('data-spa tracks each history navigation once, with the previous URL as referrer', async () => {
  server.clear();
  const { page, context, log } = await openPage(browser);
  await page.goto(server.url('/fixtures/csp-spa.html'));
  await server.waitFor(1);
  await page.evaluate(() => {
    document.title = 'A';
    history.pushState({}, '', '/page/a');
  });
  await server.waitFor(2);
  await page.evaluate(() => {
    history.replaceState({}, '', '/page/a'); // same URL: not tracked again
    history.pushState({}, '', '/page/a');    // same URL: not tracked again
    document.title = 'B';
    history.pushState({}, '', '/page/b?q=1');
  });
  await server.waitFor(3);
  await page.evaluate(() => history.back()); // popstate to /page/a
  const all = await server.waitFor(4);
  await sleep(1200);
  assert.equal(server.requests.length, 4);
  assert.deepEqual(all.map((r) => r.get('url')), ['/fixtures/csp-spa.html', '/page/a', '/page/b?q=1', '/page/a'].map((p) => server.url(p)));
  assert.deepEqual(all.map((r) => r.get('action_name')), ['SPA home', 'A', 'B', 'B']);
  assert.equal(all[1].get('urlref'), server.url('/fixtures/csp-spa.html'));
  assert.equal(all[2].get('urlref'), server.url('/page/a'));
  assert.equal(new Set(all.map((r) => r.get('pv_id'))).size, 4);
  assert.ok(all.every((r) => r.get('idsite') === '4'));
  assert.deepEqual(await page.evaluate(() => window.__violations), []);
  assert.deepEqual(log.errors, []);
  await context.close();
});

test('data-disable-cookies and data-tracker-url: no cookie, requests go to the given URL', async () => {
  server.clear();
  const { page, context } = await openPage(browser);
  await page.goto(server.url('/fixtures/data-nocookies.html'));
  const [pv] = await server.waitFor(1);
  assert.equal(pv.get('idsite'), '5');
  assert.deepEqual((await context.cookies()).filter((c) => c.name.startsWith('_pk_')), []);
  assert.equal(pv.get('_idn'), '1');
  await context.close();
});
