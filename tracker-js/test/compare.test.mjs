// Compares our build (TRACKER_BUILD) with the stock matomo.js 5.3.1 (Debian trixie's `matomo`
// package, fetched into /tmp by tests/clients/stock.mjs, never committed) on the same fixture:
// same parameter names in the same order. Fails loudly if the stock file cannot be fetched.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fetchStock } from '../../tests/clients/stock.mjs';
import { startServer, launchBrowser, openPage } from './harness.mjs';

let server, browser;
before(async () => {
  server = await startServer({ stockPath: fetchStock() });
  browser = await launchBrowser();
});
after(async () => { await browser?.close(); await server?.close(); });

// Values that differ by nature between runs are compared by name only; uadata (client hints) is
// left out, since the default build does not send it (test/api.test.mjs compares it).
const shape = (r) => r.names().filter((n) => !n.startsWith('pf_') && n !== 'uadata');

async function record(stock) {
  server.clear();
  const { page, context } = await openPage(browser);
  await page.goto(server.url('/fixtures/snippet.html?stock=' + (stock ? 1 : 0)));
  const [pv] = await server.waitFor(1);
  await page.evaluate(() => window._paq.push(['trackEvent', 'Cat', 'Act', 'Name', 3]));
  const [ev] = await server.waitFor(1, (r) => r.has('e_c'));
  await page.click('#out');
  const [link] = await server.waitFor(1, (r) => r.has('link'));
  await page.click('#dl');
  const [dl] = await server.waitFor(1, (r) => r.has('download'));
  await context.close();
  return { pv, ev, link, dl };
}

test('pageview, event, outlink and download have the same parameter names and order as matomo.js 5.3.1', async () => {
  const stock = await record(true);
  const ours = await record(false);
  for (const k of ['pv', 'ev', 'link', 'dl']) {
    assert.deepEqual(shape(ours[k]), shape(stock[k]), k);
    assert.equal(ours[k].method, stock[k].method, k);
    for (const p of ['idsite', 'rec', 'url', 'send_image', '_idn', 'e_c', 'e_a', 'e_n', 'e_v', 'ca', 'link', 'download', 'action_name', 'cookie', 'res', 'pdf']) {
      const norm = (v) => v?.replace(/stock=\d/, 'stock=X');
      assert.equal(norm(ours[k].get(p)), norm(stock[k].get(p)), `${k}: ${p}`);
    }
  }
});
