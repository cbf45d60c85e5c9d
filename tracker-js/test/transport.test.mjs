// Transport: sendBeacon (URL or form body), fetch keepalive when there is no sendBeacon, image GET last.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage } from './harness.mjs';

let server, browser;
before(async () => { server = await startServer(); browser = await launchBrowser(); });
after(async () => { await browser?.close(); await server?.close(); });

const noBeacon = () => { delete Navigator.prototype.sendBeacon; };
const recordFetch = () => {
  window.__fetches = [];
  const orig = window.fetch;
  window.fetch = (url, opts) => { window.__fetches.push({ url: String(url), opts: { ...opts, body: typeof opts.body } }); return orig(url, opts); };
};

async function pageWith(initScript) {
  server.clear();
  const o = await openPage(browser, { initScript });
  await o.page.goto(server.url('/fixtures/manual.html'));
  return o;
}

test('a long request goes through sendBeacon with a form body', async () => {
  const { page, context } = await pageWith();
  await page.evaluate(() => window._paq.push(['setCustomDimension', 1, 'x'.repeat(2100)], ['trackPageView']));
  const [r] = await server.waitFor(1);
  assert.equal(r.method, 'POST');
  assert.deepEqual(r.query, []);
  assert.equal(r.get('dimension1').length, 2100);
  assert.equal(r.bodyParams[0][0], 'action_name');
  await context.close();
});

test('without sendBeacon, fetch POST with keepalive carries a form body', async () => {
  const { page, context } = await pageWith(`(${noBeacon})(); (${recordFetch})();`);
  await page.evaluate(() => window._paq.push(['trackPageView']));
  const [r] = await server.waitFor(1);
  assert.equal(r.method, 'POST');
  assert.deepEqual(r.query, []);
  assert.equal(r.get('send_image'), '0');
  assert.equal(r.contentType.toLowerCase(), 'application/x-www-form-urlencoded; charset=utf-8');
  const fetches = await page.evaluate(() => window.__fetches);
  assert.equal(fetches.length, 1);
  assert.equal(fetches[0].opts.method, 'POST');
  assert.equal(fetches[0].opts.keepalive, true);
  await context.close();
});

test('without sendBeacon and fetch, an image GET with send_image=1', async () => {
  const { page, context } = await pageWith(`(${noBeacon})(); window.fetch = undefined;`);
  await page.evaluate(() => window._paq.push(['trackPageView']));
  const [r] = await server.waitFor(1);
  assert.equal(r.method, 'GET');
  assert.equal(r.get('send_image'), '1');
  assert.equal(r.get('action_name'), 'Manual page');
  await context.close();
});

test("setRequestMethod('GET') and disableAlwaysUseSendBeacon use the image; alwaysUseSendBeacon restores the beacon", async () => {
  const { page, context } = await pageWith();
  await page.evaluate(() => window._paq.push(['setRequestMethod', 'GET'], ['trackEvent', 'G', '1']));
  const [get] = await server.waitFor(1);
  assert.equal(get.method, 'GET');
  await page.evaluate(() => window._paq.push(['alwaysUseSendBeacon'], ['trackEvent', 'B', '2']));
  const [, beacon] = await server.waitFor(2);
  assert.equal(beacon.method, 'POST');
  assert.equal(beacon.body, '');
  await page.evaluate(() => window._paq.push(['disableAlwaysUseSendBeacon'], ['trackEvent', 'G', '3']));
  const [, , get2] = await server.waitFor(3);
  assert.equal(get2.method, 'GET');
  assert.equal(get2.get('send_image'), '1');
  await context.close();
});

test("setRequestMethod('POST') without sendBeacon posts through fetch", async () => {
  const { page, context } = await pageWith(`(${noBeacon})();`);
  await page.evaluate(() => window._paq.push(['disableAlwaysUseSendBeacon'], ['setRequestMethod', 'POST'], ['trackEvent', 'P', 'Q']));
  const [r] = await server.waitFor(1);
  assert.equal(r.method, 'POST');
  assert.equal(r.get('e_c'), 'P');
  await context.close();
});
