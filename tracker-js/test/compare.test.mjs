// Compares our build with the stock matomo.js 5.3.1 (Debian trixie's `matomo` package, fetched
// into /tmp, never committed) on the same fixture: same parameter names in the same order.
// Fails loudly if the stock file cannot be fetched.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import { startServer, launchBrowser, openPage } from './harness.mjs';

const DIR = '/tmp/edgemeter-matomo-ref';
const STOCK = `${DIR}/x/usr/share/matomo/public/matomo.js`;

// Downloads the .deb without touching the system's apt state (TOOLCHAIN.md, "Reference clients").
function fetchStock() {
  if (existsSync(STOCK)) return STOCK;
  mkdirSync(`${DIR}/lists/partial`, { recursive: true });
  mkdirSync(`${DIR}/cache/archives/partial`, { recursive: true });
  const mirror = 'http://deb.debian.org/debian';
  writeFileSync(`${DIR}/sources.list`, `deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror} trixie main\n`);
  const opts = ['-o', `Dir::Etc::sourcelist=${DIR}/sources.list`, '-o', 'Dir::Etc::sourceparts=-',
    '-o', `Dir::State::Lists=${DIR}/lists`, '-o', `Dir::Cache=${DIR}/cache`];
  execFileSync('apt-get', [...opts, 'update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', [...opts, 'download', 'matomo'], { cwd: DIR, stdio: 'inherit' });
  const deb = readdirSync(DIR).find((f) => /^matomo_.*\.deb$/.test(f));
  if (!deb) throw new Error('apt-get download matomo produced no .deb');
  execFileSync('dpkg-deb', ['-x', `${DIR}/${deb}`, `${DIR}/x`]);
  if (!existsSync(STOCK)) throw new Error(`${STOCK} missing after extracting ${deb}`);
  return STOCK;
}

let server, browser;
before(async () => {
  const stockPath = fetchStock();
  assert.ok(statSync(stockPath).size > 60000, 'stock matomo.js looks truncated');
  server = await startServer({ stockPath });
  browser = await launchBrowser();
});
after(async () => { await browser?.close(); await server?.close(); });

// Values that differ by nature between runs are compared by name only; uadata (client hints) is
// left out, since our build does not send it.
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
