// Consent, cookie consent, Do Not Track, disabled cookies and the first-party cookie formats.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startServer, launchBrowser, openPage, sleep } from './harness.mjs';

let server, browser;
before(async () => { server = await startServer(); browser = await launchBrowser(); });
after(async () => { await browser?.close(); await server?.close(); });

const pk = async (context) => Object.fromEntries((await context.cookies()).filter((c) => /^(_pk_|mtm_)/.test(c.name)).map((c) => [c.name, c.value]));
const domainHash = (host, path = '/') => createHash('sha1').update(host + path).digest('hex').slice(0, 4);

test('first-party cookies have the names and values matomo.js writes', async () => {
  server.clear();
  const { page, context } = await openPage(browser);
  await page.goto(server.url('/fixtures/manual.html?mtm_campaign=Spring&mtm_kwd=shoes'), { referer: 'https://search.example/q?x=1' });
  await page.evaluate(() => window._paq.push(['trackPageView']));
  const [pv] = await server.waitFor(1);
  const hash = domainHash('127.0.0.1');
  const cookies = await pk(context);
  const id = cookies[`_pk_id.1.${hash}`];
  assert.match(id, /^[0-9a-f]{16}\.\d{10}\.$/);
  assert.equal(id.split('.')[0], pv.get('_id'));
  assert.ok(Math.abs(Number(id.split('.')[1]) - Date.now() / 1000) < 60);
  assert.equal(cookies[`_pk_ses.1.${hash}`], '1');
  const ref = JSON.parse(decodeURIComponent(cookies[`_pk_ref.1.${hash}`]));
  assert.deepEqual([ref[0], ref[1], ref[3]], ['Spring', 'shoes', 'https://search.example/q?x=1']);
  assert.equal(String(ref[2]), pv.get('_refts'));
  assert.equal(pv.get('urlref'), 'https://search.example/q?x=1');
  assert.equal(pv.get('_ref'), 'https://search.example/q?x=1');
  assert.equal(pv.get('_rcn'), 'Spring');
  assert.equal(pv.get('_rck'), 'shoes');
  const names = pv.names();
  assert.deepEqual(names.slice(names.indexOf('send_image'), names.indexOf('send_image') + 5), ['send_image', '_rcn', '_rck', '_refts', '_ref']);
  await context.close();
});

test('setCookieDomain and setCookiePath change the domain hash of the cookie names', async () => {
  server.clear();
  const { page, context } = await openPage(browser);
  await page.goto(server.url('/fixtures/manual.html'));
  await page.evaluate(() => window._paq.push(['setCookiePath', '/fixtures/'], ['trackPageView']));
  await server.waitFor(1);
  const cookies = await context.cookies();
  const id = cookies.find((c) => c.name === `_pk_id.1.${domainHash('127.0.0.1', '/fixtures/')}`);
  assert.ok(id, JSON.stringify(cookies.map((c) => c.name)));
  assert.equal(id.path, '/fixtures/');
  assert.equal(id.sameSite, 'Lax');
  await context.close();
});

test('disableCookies: no _pk_ cookie is written and _id is sent empty, as matomo.js 5.3.1 does', async () => {
  server.clear();
  const { page, context } = await openPage(browser);
  await page.goto(server.url('/fixtures/manual.html'));
  await page.evaluate(() => window._paq.push(['disableCookies'], ['trackPageView'], ['trackEvent', 'C', 'D']));
  const [pv, ev] = await server.waitFor(2);
  assert.deepEqual(await pk(context), {});
  for (const r of [pv, ev]) { assert.ok(r.has('_id')); assert.equal(r.get('_id'), ''); assert.equal(r.get('_idn'), '1'); }
  await context.close();
});

test('requireConsent: nothing is sent before consent; queued requests go out after setConsentGiven', async () => {
  server.clear();
  const { page, context } = await openPage(browser);
  await page.goto(server.url('/fixtures/manual.html'));
  await page.evaluate(() => window._paq.push(['requireConsent'], ['trackPageView'], ['trackEvent', 'Before', 'Consent']));
  await sleep(1000);
  assert.equal(server.requests.length, 0);
  assert.deepEqual(await pk(context), {});
  await page.evaluate(() => window._paq.push(['setConsentGiven']));
  const [pv, ev, ping] = await server.waitFor(3);
  assert.equal(pv.get('action_name'), 'Manual page');
  assert.equal(ev.get('e_c'), 'Before');
  for (const r of [pv, ev, ping]) assert.equal(r.get('consent'), '1');
  // Built while cookies were off; the ping that follows consent carries the new cookie id.
  assert.equal(pv.get('_id'), '');
  assert.equal(ping.get('ping'), '1');
  assert.match(ping.get('_id'), /^[0-9a-f]{16}$/);
  const cookies = await pk(context);
  assert.ok(Object.keys(cookies).some((n) => n.startsWith('_pk_id.1.')));
  await context.close();
});

test('rememberConsentGiven persists consent; forgetConsentGiven stops tracking again', async () => {
  server.clear();
  const { page, context } = await openPage(browser);
  await page.goto(server.url('/fixtures/manual.html'));
  await page.evaluate(() => window._paq.push(['requireConsent'], ['rememberConsentGiven'], ['trackPageView']));
  await server.waitFor(1);
  assert.match((await pk(context)).mtm_consent, /^\d{13}$/);
  await page.reload();
  await page.evaluate(() => window._paq.push(['requireConsent'], ['trackPageView']));
  await server.waitFor(2);
  await page.evaluate(() => window._paq.push(['forgetConsentGiven'], ['trackEvent', 'After', 'Forget']));
  await sleep(1000);
  assert.equal(server.requests.length, 2);
  const cookies = await pk(context);
  assert.equal(cookies.mtm_consent, undefined);
  assert.match(cookies.mtm_consent_removed, /^\d{13}$/);
  assert.ok(!Object.keys(cookies).some((n) => n.startsWith('_pk_')));
  await context.close();
});

test('requireCookieConsent tracks without cookies until cookie consent is given', async () => {
  server.clear();
  const { page, context } = await openPage(browser);
  await page.goto(server.url('/fixtures/manual.html'));
  await page.evaluate(() => window._paq.push(['requireCookieConsent'], ['trackPageView']));
  const [pv] = await server.waitFor(1);
  assert.equal(pv.get('_id'), '');
  assert.deepEqual(await pk(context), {});
  await page.evaluate(() => window._paq.push(['rememberCookieConsentGiven']));
  const [, ping] = await server.waitFor(2);
  assert.equal(ping.get('ping'), '1');
  const cookies = await pk(context);
  assert.match(cookies.mtm_cookie_consent, /^\d{13}$/);
  assert.equal(Object.entries(cookies).find(([n]) => n.startsWith('_pk_id.'))[1].split('.')[0], ping.get('_id'));
  await page.evaluate(() => window._paq.push(['forgetCookieConsentGiven']));
  assert.deepEqual(await pk(context), {});
  await context.close();
});

test('setDoNotTrack with navigator.doNotTrack=1 sends nothing and writes no cookie', async () => {
  server.clear();
  const init = () => Object.defineProperty(Navigator.prototype, 'doNotTrack', { get: () => '1' });
  const { page, context } = await openPage(browser, { initScript: init });
  await page.goto(server.url('/fixtures/manual.html'));
  await page.evaluate(() => window._paq.push(['setDoNotTrack', true], ['trackPageView'], ['trackEvent', 'A', 'B'], ['ping']));
  await sleep(1200);
  assert.equal(server.requests.length, 0);
  assert.deepEqual(await pk(context), {});
  // Without setDoNotTrack the DNT flag is ignored (matomo.js default).
  await page.evaluate(() => window.Matomo.getTracker().trackPageView());
  const [pv] = await server.waitFor(1);
  assert.equal(pv.get('action_name'), 'Manual page');
  await context.close();
});
