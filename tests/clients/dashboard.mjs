// Tracks two pageviews of one visit yesterday (noon UTC), then signs in to a running Edgemeter origin in headless Chromium, by keyboard, the way a person would,
// and reads the All websites page. Records every Content Security Policy violation the browser
// reports (`securitypolicyviolation` events and console errors) and saves screenshots at a
// desktop's and a phone's width. Prints JSON for tests/tests/dashboard.rs.
//
// Usage: node dashboard.mjs --origin http://127.0.0.1:PORT --idsite N --token T --login L
//        --password P --out DIR
import { mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
// Without the networking flags Chromium tries to reach the internet (TOOLCHAIN.md).
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

const { values: opts } = parseArgs({
  options: {
    origin: { type: 'string' }, idsite: { type: 'string' }, token: { type: 'string' },
    login: { type: 'string' }, password: { type: 'string' }, out: { type: 'string' },
  },
});
if (!opts.origin || !opts.idsite || !opts.token || !opts.login || !opts.password || !opts.out) {
  throw new Error('usage: node dashboard.mjs --origin URL --idsite N --token T --login L --password P --out DIR');
}
mkdirSync(opts.out, { recursive: true });

const noon = new Date();
noon.setUTCDate(noon.getUTCDate() - 1);
noon.setUTCHours(12, 0, 0, 0);
for (const [offset, path] of [[0, 'a'], [60, 'b']]) {
  const query = new URLSearchParams({
    idsite: opts.idsite, rec: '1', _id: '0123456789abcdef', cip: '10.1.2.3', action_name: path,
    url: `http://127.0.0.1/${path}`, cdt: String(noon.getTime() / 1000 + offset), token_auth: opts.token,
  });
  const answer = await fetch(`${opts.origin}/matomo.php?${query}`);
  if (!answer.ok) throw new Error(`tracking answered ${answer.status}`);
}

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
try {
  const page = await browser.newPage({ viewport: { width: 1024, height: 700 } });
  const violations = [];
  // Init scripts run through the DevTools protocol, outside the page's CSP.
  await page.exposeFunction('reportViolation', (v) => violations.push(v));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) =>
      window.reportViolation(`${e.violatedDirective} ${e.blockedURI}`));
  });
  page.on('console', (m) => {
    if (m.type() === 'error' && m.text().includes('Content Security Policy')) violations.push(m.text());
  });

  await page.goto(`${opts.origin}/`);
  const loginTitle = await page.locator('h1').textContent();
  // The login field has autofocus; the rest is typed and submitted by keyboard.
  await page.keyboard.type(opts.login);
  await page.keyboard.press('Tab');
  await page.keyboard.type(opts.password);
  await Promise.all([page.waitForURL(/module=MultiSites/), page.keyboard.press('Enter')]);
  await page.waitForLoadState('load');

  const title = await page.locator('h1').textContent();
  const sites = await page.locator('tbody tr[data-idsite]').evaluateAll((rows) => rows.map((r) => ({
    idsite: Number(r.dataset.idsite),
    name: r.querySelector('th').textContent.trim(),
    visits: Number(r.querySelector('.visits').textContent),
    actions: Number(r.querySelector('.actions').textContent),
  })));
  // The stylesheet applied (allowed by style-src 'self'): the body margin it sets.
  const styled = await page.evaluate(() => getComputedStyle(document.body).margin === '0px');
  await page.screenshot({ path: `${opts.out}/all-websites.png`, fullPage: true });
  await page.setViewportSize({ width: 390, height: 800 });
  const overflows = await page.evaluate(
    () => document.documentElement.scrollWidth > document.documentElement.clientWidth);
  await page.screenshot({ path: `${opts.out}/all-websites-phone.png`, fullPage: true });

  console.log(JSON.stringify({ loginTitle, title, sites, styled, overflows, violations }));
} finally {
  await browser.close();
}
