// Tracking commands and configuration: exact parameters of each request.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage, sleep } from './harness.mjs';

let server, browser;
before(async () => { server = await startServer(); browser = await launchBrowser(); });
after(async () => { await browser?.close(); await server?.close(); });

async function run(commands, n) {
  server.clear();
  const { page, context } = await openPage(browser);
  await page.goto(server.url('/fixtures/manual.html'));
  await page.evaluate((c) => window._paq.push(...c), commands);
  const reqs = await server.waitFor(n);
  return { reqs, page, context };
}

test('events: e_c, e_a, e_n, e_v then ca=1 first, and an event without category is dropped', async () => {
  const { reqs, context } = await run([['trackEvent', '', 'NoCategory'], ['trackEvent', 'Video', 'Play', 'Intro ü', 12.5], ['trackEvent', 'Menu', 'Open']], 2);
  await sleep(200);
  assert.equal(server.requests.length, 2);
  assert.deepEqual(reqs[0].names().slice(0, 6), ['e_c', 'e_a', 'e_n', 'e_v', 'ca', 'idsite']);
  assert.deepEqual(['e_c', 'e_a', 'e_n', 'e_v', 'ca'].map((k) => reqs[0].get(k)), ['Video', 'Play', 'Intro ü', '12.5', '1']);
  assert.deepEqual(reqs[1].names().slice(0, 3), ['e_c', 'e_a', 'ca']);
  await context.close();
});

test('site search and goals', async () => {
  const { reqs, context } = await run([['trackSiteSearch', 'red shoes', 'Catalog', 0], ['trackSiteSearch', 'x'], ['trackGoal', 3], ['trackGoal', 4, 9.99]], 4);
  assert.deepEqual(reqs[0].names().slice(0, 4), ['search', 'search_cat', 'search_count', 'idsite']);
  assert.deepEqual(['search', 'search_cat', 'search_count'].map((k) => reqs[0].get(k)), ['red shoes', 'Catalog', '0']);
  assert.deepEqual(reqs[1].names().slice(0, 2), ['search', 'idsite']);
  assert.deepEqual(reqs[2].names().slice(0, 2), ['idgoal', 'idsite']);
  assert.equal(reqs[2].get('idgoal'), '3');
  assert.deepEqual([reqs[3].get('idgoal'), reqs[3].get('revenue')], ['4', '9.99']);
  await context.close();
});

test('custom dimensions, user id, title, custom URL and referrer', async () => {
  const { reqs, context } = await run([
    ['setUserId', 'user@example.com'], ['setCustomDimension', 1, 'gold'], ['setCustomDimension', 2, 'x'],
    ['setDocumentTitle', 'My title'], ['setCustomUrl', '/virtual/page?a=1'], ['setReferrerUrl', 'https://ref.example/'],
    ['trackPageView', undefined, { dimension3: 'from-data', foo: 'bar' }],
    ['deleteCustomDimension', 2], ['resetUserId'], ['trackEvent', 'E', 'A']], 2);
  const [pv, ev] = reqs;
  assert.equal(pv.get('uid'), 'user@example.com');
  assert.equal(pv.get('action_name'), 'My title');
  assert.equal(pv.get('url'), server.url('/virtual/page?a=1'));
  assert.equal(pv.get('urlref'), 'https://ref.example/');
  const names = pv.names();
  assert.deepEqual(names.filter((n) => /^(dimension\d+|data|uid)$/.test(n)), ['uid', 'dimension3', 'dimension1', 'dimension2', 'data']);
  assert.deepEqual([pv.get('dimension1'), pv.get('dimension2'), pv.get('dimension3')], ['gold', 'x', 'from-data']);
  assert.deepEqual(JSON.parse(pv.get('data')), { foo: 'bar' });
  assert.equal(ev.has('uid'), false);
  assert.equal(ev.has('dimension2'), false);
  assert.equal(ev.get('dimension1'), 'gold');
  await context.close();
});

test('ping sends ping=1 with the pageview id', async () => {
  const { reqs, context } = await run([['trackPageView'], ['ping']], 2);
  assert.equal(reqs[1].names()[0], 'ping');
  assert.equal(reqs[1].get('ping'), '1');
  assert.equal(reqs[1].get('pv_id'), reqs[0].get('pv_id'));
  await context.close();
});

test('the heartbeat pings on blur once the delay has passed since the last request', async () => {
  const { page, context } = await run([['enableHeartBeatTimer', 1], ['trackPageView']], 1);
  await page.evaluate(() => window.dispatchEvent(new Event('blur'))); // too early: the minimum delay is 5 s
  await sleep(300);
  assert.equal(server.requests.length, 1);
  await sleep(5000);
  await page.evaluate(() => window.dispatchEvent(new Event('blur')));
  const [, ping] = await server.waitFor(2);
  assert.equal(ping.get('ping'), '1');
  await context.close();
});

test('a request after the first one of a new visitor waits for the 800 ms window', async () => {
  server.clear();
  const { page, context } = await openPage(browser);
  await page.goto(server.url('/fixtures/manual.html'));
  const t0 = Date.now();
  await page.evaluate(() => window._paq.push(['trackPageView'], ['trackEvent', 'Soon', 'After']));
  await server.waitFor(1);
  const t1 = Date.now();
  await server.waitFor(2);
  const t2 = Date.now();
  assert.ok(t2 - t0 >= 700 && t2 - t1 >= 400, `first at ${t1 - t0} ms, second at ${t2 - t0} ms`);
  await context.close();
});
