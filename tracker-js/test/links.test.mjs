// enableLinkTracking: outlinks, downloads (extension, attribute, class), forced links, ignore classes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage, sleep } from './harness.mjs';

let server, browser;
before(async () => { server = await startServer(); browser = await launchBrowser(); });
after(async () => { await browser?.close(); await server?.close(); });

test('clicks on links send link= or download= with the resolved URL, and nothing for internal or ignored links', async () => {
  server.clear();
  const { page, context } = await openPage(browser);
  await page.goto(server.url('/fixtures/manual.html'));
  await page.evaluate(() => window._paq.push(['trackPageView'], ['enableLinkTracking']));
  const [pv] = await server.waitFor(1);
  const expected = [
    ['#out', 'link', 'https://external.example/landing?x=1'],
    ['#dl-ext', 'download', server.url('/files/report.pdf?v=2')],
    ['#dl-zip', 'download', 'https://cdn.example/pkg.ZIP'],
    ['#dl-attr', 'download', server.url('/files/data')],
    ['#dl-class', 'download', server.url('/files/export')],
    ['#dl-class-piwik', 'download', server.url('/files/export2')],
    ['#link-class', 'link', server.url('/page/forced')],
  ];
  for (const [sel] of [['#internal'], ['#out-ignored'], ['#out-ignored-piwik'], ['#mailto']]) await page.click(sel);
  for (const [sel] of expected) await page.click(sel);
  const clicks = await server.waitFor(expected.length, (r) => r.has('link') || r.has('download'));
  await sleep(300);
  assert.equal(server.requests.length, 1 + expected.length, 'internal, ignored and mailto links are not tracked');
  clicks.forEach((r, i) => {
    const [, type, url] = expected[i];
    assert.equal(r.get(type), url, expected[i][0]);
    assert.equal(r.names()[0], type);
    assert.equal(r.get('url'), server.url('/fixtures/manual.html'));
    assert.equal(r.get('pv_id'), pv.get('pv_id'));
  });
  await context.close();
});

test('trackLink sends the given URL and type', async () => {
  server.clear();
  const { page, context } = await openPage(browser);
  await page.goto(server.url('/fixtures/manual.html'));
  await page.evaluate(() => window._paq.push(['trackLink', 'https://a.example/x.bin', 'download'], ['trackLink', 'https://b.example/', 'link']));
  const reqs = await server.waitFor(2);
  assert.equal(reqs[0].get('download'), 'https://a.example/x.bin');
  assert.equal(reqs[1].get('link'), 'https://b.example/');
  await context.close();
});

test('setDomains makes links to alias hosts internal', async () => {
  server.clear();
  const { page, context } = await openPage(browser);
  await page.goto(server.url('/fixtures/manual.html'));
  await page.evaluate(() => window._paq.push(['setDomains', ['*.external.example']], ['enableLinkTracking']));
  await page.click('#out');
  await page.click('#link-class');
  const [r] = await server.waitFor(1);
  await sleep(300);
  assert.equal(server.requests.length, 1);
  assert.equal(r.get('link'), server.url('/page/forced'));
  await context.close();
});
