// Every supported matomo.js command, run in Chromium on the stock matomo.js 5.3.1 and on both of
// our builds: the requests must have the same parameters in the same order with the same values
// (but for the ones that differ by nature between two runs), and what the getters return must
// match. In the default build each full-only command must log a warning naming matomo.full.js
// and send nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fetchStock } from '../../tests/clients/stock.mjs';
import { startServer, launchBrowser, openPage, sleep } from './harness.mjs';

let server, browser;
before(async () => {
  server = await startServer({ stockPath: fetchStock() });
  browser = await launchBrowser();
});
after(async () => { await browser?.close(); await server?.close(); });

// The commands only matomo.full.js has (tracker-js/README.md, the "full" rows).
const FULL_ONLY = ['setEcommerceView', 'getEcommerceItems', 'addEcommerceItem', 'removeEcommerceItem', 'clearEcommerceCart',
  'trackEcommerceOrder', 'trackEcommerceCartUpdate', 'setCustomVariable', 'getCustomVariable', 'deleteCustomVariable',
  'deleteCustomVariables', 'enableCrossDomainLinking', 'disableCrossDomainLinking', 'isCrossDomainLinkingEnabled',
  'setCrossDomainLinkingTimeout', 'getCrossDomainLinkingUrlParameter', 'trackContentImpression', 'trackContentInteraction',
  'trackAllContentImpressions', 'trackVisibleContentImpressions', 'trackContentImpressionsWithinNode',
  'trackContentInteractionNode', 'optUserOut', 'forgetUserOptOut', 'isUserOptedOut', 'getVisitorInfo', 'getVisitorId',
  'getAttributionInfo', 'getAttributionCampaignName', 'getAttributionCampaignKeyword', 'getAttributionReferrerTimestamp',
  'getAttributionReferrerUrl', 'getCurrentUrl', 'getPageViewId', 'getUserId', 'getCustomDimension'];

// Values that differ between any two runs (random, clock, visitor id); compared by name only.
const VOLATILE = new Set(['r', 'h', 'm', 's', '_id', 'pv_id', '_refts']);
const norm = (v) => v.replace(/script=\w+/g, 'script=X');

/**
 * Opens `path` with the given script (`stock`, `default` or `full`), runs `fn(arg)` in the page
 * (it may return a value, awaited), waits for `n` tracking requests and a quiet moment, returns
 * the requests, the value and the console log.
 */
async function session(script, path, fn, arg, n, { quiet = 1000 } = {}) {
  server.clear();
  const { page, context, log } = await openPage(browser);
  const sep = path.includes('?') ? '&' : '?';
  await page.goto(server.url(path + sep + 'script=' + script));
  await page.waitForFunction(() => window.Matomo && window.Matomo.getAsyncTrackers().length);
  const value = await page.evaluate(fn, arg);
  const requests = n ? await server.waitFor(n, () => true, 10000) : [];
  await sleep(quiet);
  return { requests: server.requests.slice(), value, log, page, context };
}

// Asserts that two lists of requests are the same, parameter by parameter. `uadata` is compared
// only with the full build (the default one does not send it).
function sameRequests(ours, stock, full, label) {
  assert.equal(ours.length, stock.length, `${label}: number of requests`);
  ours.forEach((o, i) => {
    const keep = ([k]) => !k.startsWith('pf_') && (full || k !== 'uadata');
    const op = o.params.filter(keep), sp = stock[i].params.filter(keep);
    assert.deepEqual(op.map(([k]) => k), sp.map(([k]) => k), `${label} #${i}: parameter names and order`);
    op.forEach(([k, v], j) => {
      if (k === 'uadata') assert.deepEqual(JSON.parse(v), JSON.parse(sp[j][1]), `${label} #${i}: uadata`);
      else if (!VOLATILE.has(k)) assert.equal(norm(v), norm(sp[j][1]), `${label} #${i}: ${k}`);
    });
  });
}

/** Runs a scenario on the stock script and on both builds; `full` scenarios only on the full build. */
async function compare(label, path, fn, arg, n, { fullOnly = false, value = (v) => v } = {}) {
  const stock = await session('stock', path, fn, arg, n);
  await stock.context.close();
  const builds = fullOnly ? ['full'] : ['default', 'full'];
  for (const b of builds) {
    const ours = await session(b, path, fn, arg, n);
    await ours.context.close();
    sameRequests(ours.requests, stock.requests, b === 'full', `${label} (${b})`);
    assert.deepEqual(value(ours.value), value(stock.value), `${label} (${b}): returned values`);
    assert.deepEqual(ours.log.errors, [], `${label} (${b}): console errors`);
  }
  return stock;
}

test('ecommerce: product view, cart update, order, items and their defaults', async () => {
  await compare('ecommerce', '/fixtures/manual.html', async () => {
    const paq = window._paq;
    paq.push(['setEcommerceView', 'SKU1', 'Shoe', ['Men', 'Shoes'], 49.9], ['trackPageView']);
    paq.push(['addEcommerceItem', 'SKU1', 'Shoe', 'Shoes', 49.9, 2], ['addEcommerceItem', 123], ['addEcommerceItem', 'SKU3', 'Gone']);
    paq.push(['removeEcommerceItem', 'SKU3'], ['trackEcommerceCartUpdate', 99.8]);
    const items = Matomo.getAsyncTracker().getEcommerceItems();
    paq.push(['trackEcommerceOrder', 'A-1', 109.8, 99.8, 10, 5.5, 0]);
    const afterOrder = Matomo.getAsyncTracker().getEcommerceItems();
    paq.push(['addEcommerceItem', 'SKU9', 'Sock'], ['clearEcommerceCart'], ['trackEcommerceOrder', 'A-2', 5]);
    paq.push(['setEcommerceView', false, false, 'Category page'], ['trackPageView']);
    paq.push(['trackEcommerceOrder', '', 5], ['trackEcommerceCartUpdate']); // not sent: no order id, no total
    return { items, afterOrder };
  }, null, 5, { fullOnly: true });
});

test('custom variables: visit, page and event scope, deleted, read back', async () => {
  await compare('custom variables', '/fixtures/manual.html', async () => {
    const paq = window._paq, t = Matomo.getAsyncTracker();
    paq.push(['setCustomVariable', 1, 'Gender', 'male', 'visit'], ['setCustomVariable', 2, 'Section', 'News', 'page'],
      ['setCustomVariable', 3, 'Kind', 12, 'event'], ['setCustomVariable', 4, 'Plan'], ['setCustomVariable', 0, 'No', 'slot']);
    paq.push(['trackPageView']);
    const read = [t.getCustomVariable(1), t.getCustomVariable(2, 'page'), t.getCustomVariable(3, 'event'), t.getCustomVariable(5)];
    paq.push(['deleteCustomVariable', 1, 'visit'], ['deleteCustomVariables', 'page'], ['trackEvent', 'Cat', 'Act']);
    paq.push(['trackEvent', 'Cat', 'Again']);
    return read;
  }, null, 3, { fullOnly: true });
});

test('custom dimensions, user id and data: same as matomo.js in both builds', async () => {
  await compare('dimensions', '/fixtures/manual.html', async () => {
    window._paq.push(['setUserId', 'user@example.com'], ['setCustomDimension', 1, 'gold'], ['setCustomDimension', '2', 7],
      ['trackPageView', 'Title', { dimension3: 'from data', foo: 'bar' }], ['deleteCustomDimension', 2], ['resetUserId'],
      ['trackEvent', 'E', 'A', 'N', 1.5, { dimension4: 'x' }]);
  }, null, 2);
  await compare('dimension getters', '/fixtures/manual.html', async () => {
    const t = Matomo.getAsyncTracker();
    t.setUserId('u1'); t.setCustomDimension(5, 'v');
    return [t.getUserId(), t.getCustomDimension(5), t.getCustomDimension(6)];
  }, null, 0, { fullOnly: true });
});

test('the other tracking and set-up commands: same as matomo.js in both builds', async () => {
  await compare('tracking', '/fixtures/manual.html', async () => {
    window._paq.push(['setDocumentTitle', 'Custom title'], ['setCustomUrl', location.origin + '/virtual/page?a=1'],
      ['setReferrerUrl', 'https://ref.example/from?q=1'], ['trackPageView'], ['trackSiteSearch', 'red shoes', 'Catalog', 0],
      ['trackSiteSearch', 'x'], ['trackGoal', 3], ['trackGoal', 4, 9.99], ['trackLink', 'https://out.example/a', 'link'],
      ['trackLink', location.origin + '/f.zip', 'download'], ['trackEvent', 'Video', 'Play', 'Intro', 12.5], ['trackEvent', 'Menu', 'Open'], ['ping']);
  }, null, 10);
  await compare('consent', '/fixtures/manual.html', async () => {
    const t = Matomo.getAsyncTracker();
    window._paq.push(['requireConsent'], ['trackPageView']);
    await new Promise((ok) => setTimeout(ok, 300));
    const before = document.cookie;
    window._paq.push(['setConsentGiven'], ['trackEvent', 'After', 'Consent']);
    return [before.includes('_pk_id'), typeof t.getSiteId()];
  }, null, 2);
  await compare('cookie consent', '/fixtures/manual.html', async () => {
    window._paq.push(['requireCookieConsent'], ['trackPageView']);
    await new Promise((ok) => setTimeout(ok, 1000));
    window._paq.push(['rememberCookieConsentGiven'], ['trackEvent', 'After', 'CookieConsent']);
    return /mtm_cookie_consent=/.test(document.cookie);
  }, null, 3);
  await compare('cookies off', '/fixtures/manual.html', async () => {
    window._paq.push(['disableCookies'], ['setUserId', 'u-1'], ['trackPageView']);
    return /_pk_/.test(document.cookie);
  }, null, 1);
});

test('campaign parameters: name and keyword from the landing URL, kept for the visit', async () => {
  for (const q of ['pk_campaign=Spring%20Sale&pk_kwd=shoes', 'mtm_campaign=Mail&mtm_kwd=k1&x=1', 'utm_campaign=News&utm_term=t&utm_source=nl']) {
    await compare(q, `/fixtures/manual.html?${q}`, async () => {
      window._paq.push(['trackPageView'], ['trackEvent', 'C', 'A']);
    }, null, 2);
  }
  await compare('attribution getter', '/fixtures/manual.html?pk_campaign=Spring&pk_kwd=shoes', async () => {
    window._paq.push(['trackPageView']);
    const t = Matomo.getAsyncTracker(), a = t.getAttributionInfo();
    return [a[0], a[1], typeof a[2], a[3], a.length, t.getAttributionCampaignName(), t.getAttributionCampaignKeyword(),
      t.getAttributionReferrerTimestamp() === a[2], t.getAttributionReferrerUrl()];
  }, null, 1, { fullOnly: true });
});

test('client hints: uadata as matomo.js sends it (full build)', async () => {
  const stock = await compare('uadata', '/fixtures/manual.html', async () => { window._paq.push(['trackPageView'], ['trackEvent', 'C', 'A']); }, null, 2);
  const ua = JSON.parse(stock.requests[0].get('uadata'));
  assert.ok(Array.isArray(ua.fullVersionList) && ua.platform !== undefined, JSON.stringify(ua));
});

test('getters: visitor id and info, current URL, page view id', async () => {
  await compare('getters', '/fixtures/manual.html', async () => {
    const t = Matomo.getAsyncTracker();
    const before = t.getPageViewId();
    const id = t.getVisitorId(), info = t.getVisitorInfo();
    // An absolute URL: for '/virtual' matomo.js drops the page's port (js/piwik.js
    // resolveRelativeReference uses the host name); ours keeps it (tested below).
    t.setCustomUrl(location.origin + '/virtual?x=1');
    const url = t.getCurrentUrl();
    t.trackPageView();
    return { before, same: id === t.getVisitorId() && id === info[1], id: /^[0-9a-f]{16}$/.test(id),
      info: [info[0], typeof info[2], info.length], url: url.replace(/^https?:\/\/[^/]+/, ''), pv: t.getPageViewId(), cookie: /_pk_id\.1\./.test(document.cookie) };
  }, null, 1, { fullOnly: true, value: (v) => ({ ...v, pv: /^[0-9a-zA-Z]{6}$/.test(v.pv) }) });
  // And the page view id is the one the pageview carried.
  const full = await session('full', '/fixtures/manual.html', () => { window._paq.push(['trackPageView']); }, null, 1, { quiet: 0 });
  assert.equal(await full.page.evaluate(() => Matomo.getAsyncTracker().getPageViewId()), full.requests[0].get('pv_id'));
  assert.equal(await full.page.evaluate(() => Matomo.getAsyncTracker().getVisitorId()), full.requests[0].get('_id'));
  assert.equal(await full.page.evaluate(() => { Matomo.getAsyncTracker().setCustomUrl('/v?a=1'); return Matomo.getAsyncTracker().getCurrentUrl(); }),
    server.url('/v?a=1'));
  await full.context.close();
});

test('opt-out: optUserOut stops tracking, forgetUserOptOut resumes it, isUserOptedOut tells', async () => {
  await compare('opt-out', '/fixtures/manual.html', async () => {
    const t = Matomo.getAsyncTracker(), seen = [t.isUserOptedOut()];
    window._paq.push(['optUserOut']);
    seen.push(t.isUserOptedOut(), /mtm_consent_removed=/.test(document.cookie));
    window._paq.push(['trackPageView']);
    await new Promise((ok) => setTimeout(ok, 300));
    window._paq.push(['forgetUserOptOut']);
    seen.push(t.isUserOptedOut(), /mtm_consent_removed=/.test(document.cookie));
    window._paq.push(['trackEvent', 'After', 'OptIn']);
    return seen;
  }, null, 2, { fullOnly: true });
});

test('content tracking: data-track-content blocks, visible ones, within a node, manual calls', async () => {
  // matomo.js sends DOM impressions as one bulk request after a delay; ours as single requests.
  // The harness records a bulk request as its requests, so they compare one by one, sorted.
  const key = (r) => [r.get('c_n'), r.get('c_i'), r.get('link')].join('|');
  const byName = (rs) => rs.filter((r) => r.has('c_n')).sort((a, b) => key(a).localeCompare(key(b)));
  const scenarios = [
    ['all', () => { window._paq.push(['trackAllContentImpressions']); }, 6],
    ['visible', () => { window._paq.push(['trackVisibleContentImpressions', false, 0]); }, 4],
    ['within node', () => { Matomo.getAsyncTracker().trackContentImpressionsWithinNode(document.getElementById('side')); }, 1],
    ['visible within node', () => {
      window._paq.push(['trackVisibleContentImpressions', false, 0]);
      const t = Matomo.getAsyncTracker();
      setTimeout(() => { t.trackContentImpressionsWithinNode(document.body); t.trackContentImpressionsWithinNode(document.getElementById('below')); }, 500);
    }, 4],
    ['manual', () => {
      window._paq.push(['trackContentImpression', 'Banner', '/img/b.png', 'https://t.example/'], ['trackContentImpression', ' Ad '],
        ['trackContentInteraction', 'click', 'Banner', '/img/b.png', 'https://t.example/'], ['trackContentInteraction', '', 'NoInteraction']);
    }, 3],
    ['interaction node', () => { Matomo.getAsyncTracker().trackContentInteractionNode(document.querySelector('#side a'), 'tap'); }, 1],
  ];
  for (const [label, fn, n] of scenarios) {
    const stock = await session('stock', '/fixtures/content.html', fn, null, n, { quiet: 3000 });
    await stock.context.close();
    const ours = await session('full', '/fixtures/content.html', fn, null, n, { quiet: 300 });
    await ours.context.close();
    sameRequests(byName(ours.requests), byName(stock.requests), true, `content ${label}`);
    assert.equal(ours.requests.length, n, `content ${label}: no other request`);
  }
});

test('content tracking: clicks in tracked blocks send interactions; a tracked link carries its interaction', async () => {
  const results = {};
  for (const script of ['stock', 'full']) {
    const out = await session(script, '/fixtures/content.html', () => {
      window._paq.push(['enableLinkTracking'], ['trackAllContentImpressions']);
    }, null, 0, { quiet: 0 });
    // A click on the banner (its target is a URL, not a link), on the side block's internal target
    // link, on an outlink in a block without an explicit target (a link request with the
    // interaction, and an interaction for the block), on the logo (no target: the block itself).
    for (const sel of ['#banner', '#side a', '#legacy a', '#logo']) await out.page.click(sel);
    await server.waitFor(11, () => true, 10000);
    await sleep(script === 'stock' ? 3000 : 300);
    results[script] = server.requests.filter((r) => r.has('c_i') || r.has('link'));
    await out.context.close();
  }
  const key = (r) => [r.get('c_n'), r.get('c_i'), r.get('link')].join('|');
  const sorted = (rs) => rs.slice().sort((a, b) => key(a).localeCompare(key(b)));
  assert.equal(results.stock.length, 5, JSON.stringify(results.stock.map((r) => r.params)));
  sameRequests(sorted(results.full), sorted(results.stock), true, 'content clicks');
  const link = results.full.find((r) => r.has('link'));
  assert.deepEqual(link.names().slice(0, 6), ['link', 'c_i', 'c_n', 'c_p', 'c_t', 'ca']);
});

test('cross-domain linking: pk_vid on links to the other domain, read on landing', async () => {
  const results = {};
  for (const script of ['stock', 'full']) {
    const out = await session(script, '/fixtures/manual.html', (port) => {
      const a = document.createElement('a');
      a.id = 'cross'; a.href = `http://localhost:${port}/page/landing?a=1#top`; a.textContent = 'cross';
      document.body.append(a);
      const t = Matomo.getAsyncTracker();
      window._paq.push(['setDomains', ['127.0.0.1', 'localhost']], ['enableLinkTracking'], ['enableCrossDomainLinking']);
      return { id: t.getVisitorId(), param: t.getCrossDomainLinkingUrlParameter(), on: t.isCrossDomainLinkingEnabled() };
    }, new URL(server.origin).port, 0, { quiet: 0 });
    await out.page.click('#cross');
    const href = await out.page.evaluate(() => document.getElementById('cross').getAttribute('href'));
    await sleep(300);
    const sent = server.requests.length;
    await out.context.close();
    results[script] = { ...out.value, href, sent };
  }
  const { stock, full } = results;
  for (const r of [stock, full]) {
    const m = /^http:\/\/localhost:\d+\/page\/landing\?a=1&pk_vid=([0-9a-f]{16})(\d{10})([0-9a-f]{6})#top$/.exec(r.href);
    assert.ok(m, r.href);
    assert.equal(m[1], r.id);
    assert.ok(Math.abs(Number(m[2]) - Date.now() / 1000) < 30);
    assert.match(r.param, /^pk_vid=[0-9a-f]{16}\d{10}[0-9a-f]{6}$/);
    assert.equal(r.on, true);
    assert.equal(r.sent, 0, 'a link to the site itself is no outlink');
  }
  // The same browser gets the same 6-character browser id from both scripts.
  assert.equal(full.href.slice(-10, -4), stock.href.slice(-10, -4));

  // Landing: the visitor id comes from pk_vid, which is dropped from the URL sent.
  const vid = 'abcdef0123456789' + Math.floor(Date.now() / 1000) + stock.href.slice(-10, -4);
  const landed = {};
  for (const script of ['stock', 'full']) {
    server.clear();
    const { page, context } = await openPage(browser);
    // pk_vid also in the fragment, which js/piwik.js removes there too.
    await page.goto(`http://localhost:${new URL(server.origin).port}/fixtures/manual.html?x=1&pk_vid=${vid}&script=${script}&&y=2#?pk_vid=old&b=1`);
    await page.evaluate(() => window._paq.push(['enableCrossDomainLinking'], ['trackPageView']));
    const [pv] = await server.waitFor(1);
    landed[script] = [pv.get('_id'), pv.get('url').replace(/script=\w+/, 'script=X'), pv.names().filter((k) => !k.startsWith('pf_'))];
    await context.close();
  }
  assert.deepEqual(landed.full, landed.stock);
  assert.equal(landed.full[0], 'abcdef0123456789');
  assert.doesNotMatch(landed.full[1], /pk_vid/);
  assert.match(landed.full[1], /\?x=1&script=X&&y=2#\?b=1$/);
});

test('the default build warns for each full-only command, naming matomo.full.js, and sends nothing', async () => {
  const out = await session('default', '/fixtures/manual.html', (names) => {
    const t = Matomo.getAsyncTracker(), returned = [];
    for (const n of names) { window._paq.push([n, 'x']); returned.push(t[n]('x')); }
    window._paq.push(['noSuchCommand']);
    return returned;
  }, FULL_ONLY, 0, { quiet: 300 });
  await out.context.close();
  assert.equal(out.requests.length, 0);
  assert.deepEqual(out.log.errors, []);
  for (const n of FULL_ONLY) {
    assert.equal(out.log.warnings.filter((w) => w === `[matomo] ${n} is only in matomo.full.js`).length, 2, n);
  }
  assert.ok(out.log.warnings.includes('[matomo] unknown command noSuchCommand'));
  assert.equal(out.log.warnings.length, FULL_ONLY.length * 2 + 1, out.log.warnings.join('\n'));
  // And the full build has every one of them.
  const full = await session('full', '/fixtures/manual.html', (names) => names.filter((n) => typeof Matomo.getAsyncTracker()[n] !== 'function'), FULL_ONLY, 0, { quiet: 0 });
  await full.context.close();
  assert.deepEqual(full.value, []);
});
