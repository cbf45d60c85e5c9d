// The stock Matomo inline snippet (MATOMO.md 7.1) loading our build: request shape, order and values.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage, sleep, FULL } from './harness.mjs';

let server, browser;
before(async () => { server = await startServer(); browser = await launchBrowser(); });
after(async () => { await browser?.close(); await server?.close(); });

const FEATURES = ['pdf', 'qt', 'realp', 'wma', 'fla', 'java', 'ag', 'cookie', 'res'];

test('the stock snippet sends one pageview with matomo.js 5.3.1 parameters in order', async () => {
  server.clear();
  const { page, context, log } = await openPage(browser);
  await page.goto(server.url('/fixtures/snippet.html'));
  const [pv] = await server.waitFor(1);
  const names = pv.names().filter((n) => !n.startsWith('pf_'));
  assert.deepEqual(names, ['action_name', 'idsite', 'rec', 'r', 'h', 'm', 's', 'url', '_id', '_idn', 'send_image', '_refts', 'pv_id', ...(FULL ? ['uadata'] : []), ...FEATURES]);
  assert.equal(pv.get('action_name'), 'Stock snippet page');
  assert.equal(pv.get('idsite'), '1');
  assert.equal(pv.get('rec'), '1');
  assert.match(pv.get('r'), /^\d{6}$/);
  assert.equal(pv.get('url'), server.url('/fixtures/snippet.html'));
  assert.match(pv.get('_id'), /^[0-9a-f]{16}$/);
  assert.equal(pv.get('_idn'), '1');
  assert.equal(pv.get('send_image'), '0');
  assert.equal(pv.get('_refts'), '0');
  assert.match(pv.get('pv_id'), /^[0-9a-z]{6}$/);
  assert.equal(pv.get('cookie'), '1');
  assert.match(pv.get('res'), /^\d+x\d+$/);
  const now = new Date();
  assert.ok(Math.abs(Number(pv.get('h')) * 60 + Number(pv.get('m')) - (now.getHours() * 60 + now.getMinutes())) <= 1);
  // sendBeacon with a short request: POST, parameters in the URL, empty body.
  assert.equal(pv.method, 'POST');
  assert.equal(pv.body, '');
  assert.equal(pv.contentType.toLowerCase(), 'application/x-www-form-urlencoded; charset=utf-8');
  // Timings that are known when the async script runs are on this first pageview.
  for (const k of ['pf_net', 'pf_srv', 'pf_tfr']) assert.match(pv.get(k) ?? '', /^\d+$/, k);
  assert.deepEqual(log.errors, []);
  await context.close();
});

test('a second pageview of the same visitor reuses _id, is not new and has no timings', async () => {
  server.clear();
  const { page, context } = await openPage(browser);
  await page.goto(server.url('/fixtures/snippet.html'));
  const [first] = await server.waitFor(1);
  await page.evaluate(() => window._paq.push(['setDocumentTitle', 'Second'], ['trackPageView']));
  const [, second] = await server.waitFor(2);
  assert.equal(second.get('_id'), first.get('_id'));
  assert.equal(second.get('_idn'), '0');
  assert.equal(second.get('action_name'), 'Second');
  assert.notEqual(second.get('pv_id'), first.get('pv_id'));
  assert.ok(!second.names().some((n) => n.startsWith('pf_')));
  await context.close();
});

test('a pageview sent after the load event carries all six performance timings', async () => {
  server.clear();
  const { page, context } = await openPage(browser);
  await page.goto(server.url('/fixtures/late-pageview.html'));
  const [pv] = await server.waitFor(1);
  const pf = pv.names().filter((n) => n.startsWith('pf_'));
  assert.deepEqual(pf, ['pf_net', 'pf_srv', 'pf_tfr', 'pf_dm1', 'pf_dm2', 'pf_onl']);
  for (const k of pf) assert.match(pv.get(k), /^\d+$/);
  // Loaded before the pageview: timings come before pv_id, as in js/piwik.js getRequest.
  assert.ok(pv.names().indexOf('pf_onl') < pv.names().indexOf('pv_id'));
  await context.close();
});

test('commands pushed after the script loaded work, unknown ones only warn', async () => {
  server.clear();
  const { page, context, log } = await openPage(browser);
  await page.goto(server.url('/fixtures/snippet.html'));
  await server.waitFor(1);
  const threw = await page.evaluate(() => {
    try { window._paq.push(['noSuchCommand', 1]); window._paq.push(['trackEvent', 'After', 'Load']); return false; } catch (e) { return true; }
  });
  assert.equal(threw, false);
  const [ev] = await server.waitFor(1, (r) => r.has('e_c'));
  assert.equal(ev.get('e_c'), 'After');
  assert.ok(log.warnings.some((w) => w.includes('noSuchCommand')), JSON.stringify(log.warnings));
  await context.close();
});

test('the object API: Matomo.getTracker, getAsyncTracker and the Piwik alias', async () => {
  server.clear();
  const { page, context } = await openPage(browser);
  await page.goto(server.url('/fixtures/snippet.html'));
  await server.waitFor(1);
  const info = await page.evaluate((origin) => {
    const async = window.Matomo.getAsyncTracker();
    const t = window.Piwik.getTracker(origin + '/piwik.php', 7);
    t.trackEvent('Obj', 'Api');
    return { same: window.Piwik === window.Matomo, url: async.getTrackerUrl(), site: async.getSiteId(), n: window.Matomo.getAsyncTrackers().length };
  }, server.origin);
  assert.deepEqual(info, { same: true, url: server.url('/matomo.php').replace('http:', ''), site: '1', n: 1 });
  const [ev] = await server.waitFor(1, (r) => r.get('e_c') === 'Obj');
  assert.equal(ev.get('idsite'), '7');
  assert.equal(ev.get('e_a'), 'Api');
  await context.close();
});

test('addTracker sends every later command to both trackers', async () => {
  server.clear();
  const { page, context } = await openPage(browser);
  await page.goto(server.url('/fixtures/manual.html'));
  await page.evaluate((origin) => {
    window._paq.push(['addTracker', origin + '/piwik.php', 9]);
    window._paq.push(['trackGoal', 2, 5.5]);
  }, server.origin);
  const goals = await server.waitFor(2, (r) => r.has('idgoal'));
  assert.deepEqual(goals.map((g) => g.get('idsite')).sort(), ['1', '9']);
  for (const g of goals) { assert.equal(g.get('idgoal'), '2'); assert.equal(g.get('revenue'), '5.5'); }
  await sleep(10);
  await context.close();
});
