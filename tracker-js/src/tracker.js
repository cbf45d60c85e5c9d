/*!
 * Edgemeter tracker: a small, dependency-free, matomo.js-compatible tracker (the `_paq` queue and
 * the `Matomo.getTracker` / `Matomo.getAsyncTracker` object API, aliased as `Piwik`).
 *
 * Requests are built as matomo.js 5.3.1 (`js/piwik.js`) builds them: same parameter names, same
 * order, `send_image=0`, browser features and client hints appended at send time. Sent with
 * `navigator.sendBeacon`, then `fetch` (POST, keepalive), then an image GET.
 * It can be configured without any inline script through `data-*` attributes on its own tag.
 *
 * Two builds come from this file (build.mjs): `matomo.js`, where `FULL` is false and the `if (FULL)`
 * parts are left out, and `matomo.full.js` with them (ecommerce, custom variables, cross-domain
 * linking, content tracking, client hints, the getters). In the default build a full-only command
 * logs a warning naming matomo.full.js instead of doing nothing.
 */
(function (w, d) {
  'use strict';

  const nav = navigator;
  const script = d.currentScript;
  const enc = encodeURIComponent;
  const trackers = [];
  const now = () => Date.now();
  const isDef = (v) => v !== undefined;
  const hasLen = (v) => typeof v === 'number' || (typeof v === 'string' && v.trim() !== '');
  const warn = (m) => w.console && console.warn('[matomo] ' + m);
  const on = (el, ev, fn, cap) => el.addEventListener(ev, fn, cap);
  const FORM = 'application/x-www-form-urlencoded; charset=UTF-8';
  // Matomo's default download extensions (js/piwik.js configDownloadExtensions).
  const EXTS_LIST = ('7z aac apk arc arj asc asf asx avi azw3 bin csv deb dmg doc docx epub exe flv gif gz gzip hqx ibooks jar ' +
    'jpg jpeg js md5 mobi mp2 mp3 mp4 mpg mpeg mov movie msi msp odb odf odg ods odt ogg ogv pdf phps png ppt pptx qt ' +
    'qtm ra ram rar rpm rtf sea sha sha256 sha512 sig sit tar tbz tbz2 bz bz2 tgz torrent txt wav wma wmv wpd xls xlsx ' +
    'xml xz z zip').replace(/ /g, '|');
  const EXTS = new RegExp('\\.(' + EXTS_LIST + ')([?&#]|$)', 'i');
  const CAMPAIGN = ['pk_campaign', 'mtm_campaign', 'piwik_campaign', 'matomo_campaign', 'utm_campaign', 'utm_source', 'utm_medium'];
  const KEYWORD = ['pk_kwd', 'mtm_kwd', 'piwik_kwd', 'matomo_kwd', 'utm_term'];
  // Commands only the full build has (tracker-js/README.md lists them); the default build answers
  // each with a warning naming the full build.
  const FULL_ONLY = /Ecommerce|CustomVariable|CrossDomain|^track\w*Content|UserOpt|optUser|^get(Vi|At|CurrentU|Pa|UserI|CustomDi)/;
  const CONSENT = 'mtm_consent', CONSENT_REMOVED = 'mtm_consent_removed', COOKIE_CONSENT = 'mtm_cookie_consent';

  // SHA-1 of the UTF-8 bytes of s, as 40 hex chars (for the cookie domain hash and the visitor id).
  function sha1(s) {
    const b = new TextEncoder().encode(s), l = b.length, n = ((l + 8) >> 6) + 1, m = new Array(n * 16).fill(0);
    const h = [0x67452301, 0xefcdab89, ~0x67452301, ~0xefcdab89, 0xc3d2e1f0], x = [];
    // The round constants are floor(2^30 * sqrt(2, 3, 5, 10)).
    const k = [2, 3, 5, 10].map((v) => Math.floor(Math.sqrt(v) * 2 ** 30));
    const rol = (v, c) => (v << c) | (v >>> (32 - c));
    for (let i = 0; i < l; i++) m[i >> 2] |= b[i] << (24 - (i & 3) * 8);
    m[l >> 2] |= 0x80 << (24 - (l & 3) * 8);
    m[n * 16 - 1] = l * 8;
    for (let i = 0; i < m.length; i += 16) {
      let [a, bb, c, dd, e] = h;
      for (let j = 0; j < 80; j++) {
        x[j] = j < 16 ? m[i + j] : rol(x[j - 3] ^ x[j - 8] ^ x[j - 14] ^ x[j - 16], 1);
        const t = (rol(a, 5) + e + x[j] + k[j / 20 | 0] + (j < 20 ? (bb & c) | (~bb & dd) : j > 39 && j < 60 ? (bb & c) | (bb & dd) | (c & dd) : bb ^ c ^ dd)) | 0;
        e = dd; dd = c; c = rol(bb, 30); bb = a; a = t;
      }
      h[0] += a; h[1] += bb; h[2] += c; h[3] += dd; h[4] += e;
    }
    return h.map((v) => (v >>> 0).toString(16).padStart(8, '0')).join('');
  }

  // js/piwik.js sends the page URL and referrer decoded once, then encoded (safeDecodeWrapper).
  const dec = (u) => { try { return decodeURIComponent(u); } catch (e) { return u; } };
  const hostOf = (u) => { try { return new URL(u).hostname; } catch (e) { return ''; } };
  // js/piwik.js domainFixup: no trailing dot, '*.x' -> '.x', no path.
  const fixDomain = (s) => s.replace(/\.$/, '').replace(/^\*\./, '.');
  const cookieRe = (name) => new RegExp('(^|;)[ ]*' + name.replace(/\./g, '\\.') + '=([^;]*)');

  // Browser features, detected once, in the order matomo.js adds them. Since the HTML standard fixed
  // navigator.mimeTypes to the PDF viewer types (or nothing), every plugin flag but pdf is 0 when
  // the list is non-empty; matomo.js sends no plugin flags at all when it is empty.
  let features;
  function getFeatures() {
    if (!features) {
      const m = nav.mimeTypes;
      features = m && m.length ? { pdf: m['application/pdf'] ? '1' : '0', qt: '0', realp: '0', wma: '0', fla: '0', java: '0', ag: '0' } : {};
      features.cookie = nav.cookieEnabled ? '1' : '0';
      features.res = (screen.width | 0) + 'x' + (screen.height | 0);
    }
    return features;
  }

  // Full build: client hints (`uadata`). Every request waits until the high-entropy values are
  // known; when the browser refuses them the low-entropy brands and platform are sent
  // (js/piwik.js detectClientHints).
  let hints, hintsWait;
  function withHints(fn) {
    const u = nav.userAgentData;
    if (!u || !u.getHighEntropyValues) return fn();
    hintsWait = hintsWait || u.getHighEntropyValues(['brands', 'model', 'platform', 'platformVersion', 'uaFullVersion', 'fullVersionList', 'formFactors'])
      .then((ua) => {
        if (ua.fullVersionList) { delete ua.brands; delete ua.uaFullVersion; }
        hints = ua;
      }, () => { hints = { brands: u.brands, platform: u.platform }; });
    hintsWait.then(fn);
  }

  // The first request goes at once; later ones within 800 ms of it wait for the window to end, so
  // that a new visitor is not created twice in parallel (js/piwik.js makeSureThereIsAGap...).
  let gapUntil = 0;
  function afterGap(fn) {
    const t = now();
    if (gapUntil && t < gapUntil) { setTimeout(fn, gapUntil - t); gapUntil += 50; return; }
    if (!gapUntil) gapUntil = t + 800;
    fn();
  }

  function Tracker(trackerUrl, siteId) {
    const self = this;
    let url = trackerUrl || '', site = siteId, userId = '';
    let title = d.title, customUrl = '', referrer = dec(d.referrer), domains = [location.hostname];
    let dims = {}, pvId = '', perfTracked = false, sentYet = false, lastSent = 0;
    let cookiesOff = false, cookieDomain = '', cookiePath = '', sameSite = 'Lax', secure = false, domainHash = '';
    let consentRequired = false, hasConsent = true, queue = [], dnt = false;
    let beacon = true, method = 'GET', heartbeat = 0, hbSetUp = false;
    let linkOn = false, uuid = '';
    // Full build only: the visitor id a `pk_vid` gave, ecommerce product view and cart, custom
    // variables (visit scope: false until first set, as in js/piwik.js), cross-domain linking.
    let ecView = {}, ecItems = {}, cvVisit = false, cvPage = {}, cvEvent = {}, crossDomain = false, cdTimeout = 180;

    const here = () => customUrl || dec(location.href);
    const updateHash = () => { domainHash = sha1((cookieDomain || location.hostname) + (cookiePath || '/')).slice(0, 4); };
    updateHash();
    const cname = (base) => '_pk_' + base + '.' + site + '.' + domainHash;
    const getCookie = (name) => {
      if (cookiesOff && name !== CONSENT_REMOVED) return '';
      const m = cookieRe(name).exec(d.cookie);
      return m ? decodeURIComponent(m[2]) : '';
    };
    const setCookie = (name, value, ms) => {
      if (cookiesOff && name !== CONSENT_REMOVED) return;
      d.cookie = name + '=' + enc(value) + (ms ? ';expires=' + new Date(now() + ms).toUTCString() : '') +
        ';path=' + (cookiePath || '/') + (cookieDomain ? ';domain=' + cookieDomain : '') + (secure ? ';secure' : '') +
        ';SameSite=' + sameSite;
    };
    const remember = (name, hours) => setCookie(name, now(), hours ? hours * 3600000 : 946080000000); // default 30 years
    const delCookie = (name) => setCookie(name, '', -129600000);
    const deleteCookies = () => {
      const off = cookiesOff;
      cookiesOff = false;
      for (const b of ['id', 'ses', 'ref']) if (getCookie(cname(b))) delCookie(cname(b));
      cookiesOff = off;
    };

    // [newVisitor '1'|'0', uuid, creation ts] from _pk_id, or a new visitor (js/piwik.js loadVisitorIdCookie).
    // Full build: with cross-domain linking on, a fresh `pk_vid` made by this browser gives the id,
    // over the cookie's (js/piwik.js getVisitorIdFromUrl, visitorUUID).
    function visitor() {
      if (FULL && !uuid && crossDomain) uuid = idFromUrl();
      const c = getCookie(cname('id'));
      if (c) { const v = ['0'].concat(c.split('.')); if (FULL && uuid) v[1] = uuid; return v; }
      return ['1', FULL && uuid ? uuid : cookiesOff ? '' : sha1(nav.userAgent + now() + Math.random()).slice(0, 16), Math.round(now() / 1000)];
    }

    // _pk_id: "uuid.creation ts." for 13 months after creation.
    const saveId = (v) => setCookie(cname('id'), v[1] + '.' + v[2] + '.', v[2] * 1000 + 33955200000 - now());

    // Is host (and path, when given) one of the site's own (setDomains)? js/piwik.js isSiteHostPath.
    const isSiteHostPath = (host, path) => domains.some((a) => {
      const [h, ...rest] = String(a).replace(/^\w+:\/\//, '').split('/');
      const dom = fixDomain(h).toLowerCase(), p = rest.join('/').replace(/\*$/, '');
      return ('.' + host).endsWith(dom[0] === '.' ? dom : '.' + dom) && (dom[0] === '.' || host === dom) && (!path || !p || path.startsWith('/' + p));
    });

    // Full build: js/piwik.js purify drops the cross-domain `pk_vid` parameter from the URLs it sends.
    const purify = (u) => (FULL ? dropVid(u) : u);
    // u without pk_vid in its query or its `#a=1&b=2` fragment, else u unchanged (js/piwik.js
    // removeUrlParameter, step by step).
    function dropVid(u) {
      if (!/[?&#]pk_vid=/.test(u)) return u;
      const keep = (list) => list.split('&').filter((p) => p.split('=')[0] !== 'pk_vid').join('&');
      const at = u.indexOf('#'), hash = at < 0 ? '' : u.slice(at + 1), base = at < 0 ? u : u.slice(0, at);
      const [path, ...q] = base.split('?'), query = q.length && keep(q.join('?'));
      let out = path + (query ? '?' + query : '');
      if (hash.indexOf('=') > 0) {
        const mark = hash[0] === '?', rest = keep(mark ? hash.slice(1) : hash);
        if (rest) out += '#' + (mark ? '?' : '') + rest;
      } else if (hash) out += '#' + hash;
      return out;
    }
    // u with `pk_vid=v` last in its query, before the fragment (js/piwik.js addUrlParameter).
    function addVid(u, v) {
      const at = u.indexOf('#') < 0 ? u.length : u.indexOf('#'), base = u.slice(0, at);
      return base + (base.indexOf('?') < 0 ? '?' : base.endsWith('?') ? '' : '&') + 'pk_vid=' + enc(v) + u.slice(at);
    }
    // 6 hex chars that tell this browser from another (js/piwik.js generateBrowserSpecificId).
    const browserId = () => sha1(nav.userAgent + nav.platform + JSON.stringify(getFeatures())).slice(0, 6);
    const crossId = () => self.getVisitorId() + Math.floor(now() / 1000) + browserId();
    // The visitor id of a `pk_vid` made by this browser at most cdTimeout seconds ago, else ''.
    function idFromUrl() {
      const p = new URL(location.href).searchParams.get('pk_vid') || '', ts = parseInt(p.slice(16, 26), 10), t = now() / 1000;
      return /^[a-zA-Z0-9]{32}$/.test(p) && p.slice(26) === browserId() && (cdTimeout <= 0 || (t >= ts && t <= ts + cdTimeout)) ? p.slice(0, 16) : '';
    }

    // [campaign, keyword, ts, referrer URL] from the _pk_ref cookie (js/piwik.js loadReferrerAttributionCookie).
    function refCookie() {
      try { const c = JSON.parse(getCookie(cname('ref')) || 'null'); if (Array.isArray(c)) return c; } catch (e) { /* old format */ }
      return ['', '', 0, ''];
    }

    // _rcn, _rck, _refts, _ref from the _pk_ref attribution cookie (js/piwik.js detectReferrerAttribution).
    function attribution() {
      let a = refCookie(), [cn, ck, ts, ru] = a;
      if (!getCookie(cname('ses'))) {
        cn = ''; ck = '';
        const q = new URL(here()).searchParams;
        for (const p of CAMPAIGN) if ((cn = q.get(p) || '')) break;
        for (const p of KEYWORD) if ((ck = q.get(p) || '')) break;
        const rh = hostOf(referrer);
        if (referrer && rh && !isSiteHostPath(rh)) ru = referrer;
        if (!cn) { cn = a[0]; ck = a[1]; }
        if (ru || cn) {
          ts = Math.round(now() / 1000);
          a = [cn, ck, ts, ru.slice(0, 1024)];
          setCookie(cname('ref'), JSON.stringify(a), 15768000000);
        }
      }
      return (cn ? '&_rcn=' + enc(cn) : '') + (ck ? '&_rck=' + enc(ck) : '') + '&_refts=' + ts + (ru ? '&_ref=' + enc(ru.slice(0, 1024)) : '');
    }

    // pf_* from the Navigation Timing API (level 2 entry); values not known yet (the load event has
    // not finished) are left out, and a negative span drops them all, as js/piwik.js does.
    const nav2 = () => performance.getEntriesByType('navigation')[0] || {};
    function perf() {
      const p = nav2();
      let out = '';
      for (const [k, a, b] of [['net', 'fetchStart', 'connectEnd'], ['srv', 'requestStart', 'responseStart'], ['tfr', 'responseStart', 'responseEnd'],
        ['dm1', 'responseEnd', 'domInteractive'], ['dm2', 'domInteractive', 'domComplete'], ['onl', 'loadEventStart', 'loadEventEnd']]) {
        if (p[b] > 0) { if (p[b] < p[a]) return ''; out += '&pf_' + k + '=' + Math.round(p[b] - p[a]); }
      }
      return out;
    }

    // The common part of every request, in matomo.js 5.3.1 order (js/piwik.js getRequest).
    function build(req, data) {
      if (cookiesOff) deleteCookies();
      if (dnt) return '';
      const t = new Date(), v = visitor(), cs = d.characterSet;
      req += '&idsite=' + site + '&rec=1&r=' + String(Math.random()).slice(2, 8) +
        '&h=' + t.getHours() + '&m=' + t.getMinutes() + '&s=' + t.getSeconds() +
        '&url=' + enc(purify(here())) + (referrer ? '&urlref=' + enc(purify(referrer)) : '') +
        (hasLen(userId) ? '&uid=' + enc(userId) : '') + '&_id=' + v[1] + '&_idn=' + v[0] +
        (cs && cs.toLowerCase() !== 'utf-8' ? '&cs=' + enc(cs) : '') + '&send_image=0' + attribution();
      const done = {};
      if (data && typeof data === 'object') {
        data = Object.assign({}, data);
        for (const k in data) {
          if (/^dimension\d+$/.test(k)) { done[k.slice(9)] = 1; req += '&' + k + '=' + enc(data[k]); delete data[k]; }
        }
        if (!Object.keys(data).length) data = null;
      }
      if (FULL) for (const k in ecView) req += '&' + k + '=' + enc(ecView[k]);
      for (const k in dims) if (!done[k]) req += '&dimension' + k + '=' + enc(dims[k]);
      if (data) req += '&data=' + enc(JSON.stringify(data));
      if (FULL) {
        // Integer keys: JSON.stringify already lists them sorted, as js/piwik.js sortObjectByKeys does.
        const cv = (o, name) => { const j = JSON.stringify(o); return j.length > 2 ? '&' + name + '=' + enc(j) : ''; };
        req += cv(cvPage, 'cvar') + cv(cvEvent, 'e_cvar');
        if (cvVisit) {
          req += cv(cvVisit, '_cvar');
          for (const k in cvVisit) if (cvVisit[k][0] === '' || cvVisit[k][1] === '') delete cvVisit[k];
        }
      }
      if (!perfTracked && nav2().loadEventEnd > 0) { req += perf(); perfTracked = true; }
      if (pvId) req += '&pv_id=' + pvId;
      if (site) {
        saveId(v);
        setCookie(cname('ses'), '1', 1800000);
      }
      return req;
    }

    function refreshConsent() {
      if (getCookie(CONSENT_REMOVED)) hasConsent = false;
      else if (getCookie(CONSENT)) hasConsent = true;
    }

    // Transport: sendBeacon, else fetch POST with keepalive, else an image GET (js/piwik.js sendRequest).
    function transmit(req) {
      const long = req.length > 2000 || method === 'POST';
      const sep = url.indexOf('?') < 0 ? '?' : '&';
      const image = () => { new Image(1, 1).src = url + sep + req.replace('send_image=0', 'send_image=1'); };
      if (beacon && nav.sendBeacon) {
        try {
          if (nav.sendBeacon(long ? url : url + sep + req, new Blob(long ? [req] : [], { type: FORM }))) return;
        } catch (e) { /* fall through */ }
      }
      if (w.fetch && (long || method !== 'GET' || beacon)) {
        // no-cors: the request is delivered without needing CORS headers; only a network error
        // (a rejected promise) falls back to the image, so a request is never counted twice.
        fetch(url, { method: 'POST', keepalive: true, mode: 'no-cors', body: req, headers: { 'Content-Type': FORM } })
          .catch(long ? () => 0 : image);
        return;
      }
      image();
    }

    function send(req) {
      refreshConsent();
      if (!hasConsent) { queue.push(req); return; }
      sentYet = true;
      if (!dnt && req) {
        if (consentRequired) req += '&consent=1';
        const go = () => {
          let r = FULL && hints ? req + '&uadata=' + enc(JSON.stringify(hints)) : req;
          const f = getFeatures();
          for (const k in f) r += '&' + k + '=' + f[k];
          afterGap(() => { lastSent = now(); transmit(r); });
        };
        if (FULL) withHints(go); else go();
      }
      setUpHeartbeat();
    }
    const track = (req, data) => send(build(req, data));

    // Heartbeat: a ping when the page loses focus, is hidden or unloads, if nothing was sent for
    // `heartbeat` ms (js/piwik.js also requires the focus to have lasted that long; we do not).
    const beat = () => { if (heartbeat && lastSent && lastSent + heartbeat <= now()) self.ping(); };
    function setUpHeartbeat() {
      if (hbSetUp || !heartbeat) return;
      hbSetUp = true;
      on(w, 'blur', beat);
      on(w, 'pagehide', beat);
      on(d, 'visibilitychange', () => d.hidden && beat());
    }

    // Matomo's class names: matomo_link / piwik_link (also with '-'), _download, _ignore.
    const hasClass = (a, base) => new RegExp('(^| )(piwik|matomo)[_-]' + base + '( |$)').test(a.getAttribute('class') || '');
    function linkType(a) {
      const href = a.href;
      if (!href || /^(javascript|vbscript|jscript|mocha|livescript|ecmascript|mailto|tel):/i.test(href)) return 0;
      if (url && href.indexOf(url) === 0) return 0;
      if (hasClass(a, 'link')) return 'link';
      if (a.hasAttribute('download') || hasClass(a, 'download') || EXTS.test(href)) return 'download';
      if (isSiteHostPath((a.hostname || '').toLowerCase(), a.pathname || '/')) return 0;
      return 'link';
    }
    function onClick(e) {
      const a = e.target && e.target.closest && e.target.closest('a[href],area[href]');
      if (!a || hasClass(a, 'ignore')) return;
      if (e.type === 'auxclick' && e.button !== 1) return;
      const type = linkType(a);
      // As js/piwik.js logLink: the URL decoded once; in a content block, with its interaction.
      if (type) track(type + '=' + enc(purify(dec(a.href))) + (FULL ? clickParams(a, dec(a.href)) : ''));
      // Full build: a link to another of the site's domains (setDomains) carries the visitor id
      // (js/piwik.js processClick, isLinkToDifferentDomainButSameMatomoWebsite).
      else if (FULL && crossDomain && /^(https?:)?\/\//.test(a.getAttribute('href')) && a.hostname !== location.hostname &&
        isSiteHostPath(a.hostname.toLowerCase(), a.pathname) && self.getVisitorId()) a.setAttribute('href', addVid(dropVid(a.getAttribute('href')), crossId()));
    }

    const content = (parts) => parts.filter((p) => p[1]).map((p) => p[0] + '=' + enc(p[1])).join('&') + '&ca=1';
    const trim = (s) => (s == null ? '' : String(s).trim());

    // Full build: content blocks in the page (js/piwik.js `content`): `data-track-content` or class
    // matomoTrackContent / piwikTrackContent; name, piece and target from the data-content-*
    // attributes, else from the piece's media URL, a title, the target's href.
    const BLOCKS = ['.matomoTrackContent', '.piwikTrackContent', '[data-track-content]'], BLOCK = BLOCKS.join();
    // The blocks under root, by kind and then in document order, as js/piwik.js findContentNodes.
    const blocks = (root) => [...new Set(BLOCKS.flatMap((sel) => [...root.querySelectorAll(sel)]))];
    const first = (n, sel) => (n.matches(sel) ? n : n.querySelector(sel));
    const valued = (n, a) => (n.getAttribute(a) ? n : [...n.querySelectorAll('[' + a + ']')].find((x) => x.getAttribute(a)));
    const abs = (u) => u && new URL(u, location.href).href;
    const pieceNode = (n) => first(n, '[data-content-piece],.matomoContentPiece,.piwikContentPiece') || n;
    const explicitTarget = (n) => valued(n, 'data-content-target') || first(n, '[data-content-target],.matomoContentTarget,.piwikContentTarget');
    const targetNode = (n) => explicitTarget(n) || n;
    const ignored = (n) => n.matches('[data-content-ignoreinteraction],.matomoContentIgnoreInteraction,.piwikContentIgnoreInteraction');
    // A click on el counts for block b unless its target ignores interactions or b has an explicit
    // target that el is not in (js/piwik.js isNodeAuthorizedToTriggerInteraction).
    const authorized = (b, el) => !ignored(targetNode(b)) && (!explicitTarget(b) || explicitTarget(b).contains(el));
    // `&c_i=click&c_n=...&ca=1` for a tracked link clicked in a content block, else ''
    // (js/piwik.js getContentInteractionToRequestIfPossible; the link's URL is the fallback target).
    function clickParams(el, href) {
      const b = el.closest(BLOCK);
      if (!b || !authorized(b, el)) return '';
      const [n, p, t] = block(b);
      return '&' + content([['c_i', 'click'], ['c_n', n], ['c_p', p], ['c_t', t || href]]);
    }
    // Clicks on the target of a block whose impression was tracked send a 'click' interaction,
    // but for a tracked link, whose request carries it (js/piwik.js setupInteractionsTracking,
    // trackContentImpressionClickInteraction).
    const watched = FULL && new WeakSet();
    function watch(n) {
      const t = targetNode(n);
      if (watched.has(t)) return;
      watched.add(t);
      on(t, 'click', (e) => {
        const b = t.closest(BLOCK), el = e.target || t, a = targetNode(b).closest('a[href],area[href]');
        if (!authorized(b, el) || (linkOn && a && !hasClass(a, 'ignore') && linkType(a))) return;
        self.trackContentInteractionNode(el, 'click');
      });
    }
    function media(n) {
      const tag = n.nodeName.toLowerCase(), src = valued(n, 'src');
      if (/^(img|embed|video|audio)$/.test(tag) && src) return src.getAttribute('src');
      if (tag !== 'object') return;
      const movie = [...n.querySelectorAll('param')].find((p) => p.getAttribute('name') === 'movie' && p.getAttribute('value'));
      const embed = n.querySelector('embed');
      return n.getAttribute('data') || (movie ? movie.getAttribute('value') : embed ? media(embed) : undefined);
    }
    function piece(n) {
      const p = valued(n, 'data-content-piece');
      return p ? p.getAttribute('data-content-piece') : abs(media(pieceNode(n)));
    }
    function block(n) {
      const named = valued(n, 'data-content-name'), p = piece(n), t = targetNode(n), pn = pieceNode(n);
      const titled = [n, pn, t].find((x) => x.getAttribute('title'));
      // A URL on this origin is named by its path (js/piwik.js removeDomainIfIsInLink).
      const name = named ? named.getAttribute('data-content-name')
        : p ? (p.indexOf(location.origin) === 0 ? p.slice(location.origin.length) || '/' : p) : titled && titled.getAttribute('title');
      const href = t.getAttribute('data-content-target') || (t.getAttribute('href') ? abs(t.getAttribute('href')) : pn.getAttribute('href') && abs(pn.getAttribute('href')));
      return [trim(name) || 'Unknown', trim(p) || 'Unknown', trim(href)];
    }
    // seen: the impressions sent; onlyVisible: trackVisibleContentImpressions was called, so
    // trackContentImpressionsWithinNode also sends only visible blocks (js/piwik.js
    // isTrackOnlyVisibleContentEnabled).
    const seen = {};
    let onlyVisible = false;
    const visible = (n) => { const r = n.getBoundingClientRect(); return r.width && r.height && r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth && getComputedStyle(n).visibility !== 'hidden'; };
    // One impression per block and page, as js/piwik.js wasContentImpressionAlreadyTracked; last
    // block first, as js/piwik.js builds them (the first one built is the one with _idn=1).
    function impressions(nodes, visibleOnly) {
      for (const n of nodes.reverse()) {
        if (visibleOnly && !visible(n)) continue;
        const b = block(n), key = b.join('\n');
        if (!seen[key]) { seen[key] = 1; self.trackContentImpression(...b); }
        watch(n);
      }
    }
    // Runs fn once the DOM is parsed (or, with load, once the page has loaded).
    const ready = (fn, load) => ((load ? d.readyState !== 'complete' : d.readyState === 'loading') ? on(load ? w : d, load ? 'load' : 'DOMContentLoaded', fn) : fn());

    Object.assign(this, {
      trackPageView(customTitle, data) {
        queue = [];
        pvId = Math.random().toString(36).slice(2, 8).padEnd(6, '0');
        let req = build('action_name=' + enc(customTitle || title || ''), data);
        if (!perfTracked && req) { req += perf(); perfTracked = true; }
        send(req);
      },
      trackEvent(c, a, n, v, data) {
        if (!hasLen(c) || !hasLen(a)) { warn('trackEvent: no category/action'); return; }
        track('e_c=' + enc(c) + '&e_a=' + enc(a) + (isDef(n) ? '&e_n=' + enc(n) : '') + (isDef(v) ? '&e_v=' + enc(v) : '') + '&ca=1', data);
      },
      trackSiteSearch(k, cat, count, data) {
        track('search=' + enc(k) + (cat ? '&search_cat=' + enc(cat) : '') + (isDef(count) ? '&search_count=' + count : ''), data);
      },
      trackGoal(id, revenue, data) { track('idgoal=' + id + (revenue ? '&revenue=' + revenue : ''), data); },
      trackLink(u, type, data) { track(type + '=' + enc(u), data); },
      ping() { track('ping=1'); },
      enableLinkTracking(enable) {
        if (linkOn) return;
        linkOn = true;
        const install = () => { on(d.body, 'click', onClick, true); if (enable !== false) on(d.body, 'auxclick', onClick, true); };
        if (d.body) install(); else on(d, 'DOMContentLoaded', install);
      },
      setTrackerUrl(u) { url = u; },
      getTrackerUrl: () => url,
      setSiteId(id) { site = id; updateHash(); },
      getSiteId: () => site,
      addTracker(u, id) { const t = new Tracker(isDef(u) && u !== null ? u : url, id); trackers.push(t); return t; },
      setUserId(id) { if (hasLen(id)) userId = id; },
      resetUserId() { userId = ''; },
      setCustomDimension(id, v) { id = parseInt(id, 10); if (id > 0) dims[id] = isDef(v) ? String(v) : ''; },
      deleteCustomDimension(id) { delete dims[parseInt(id, 10)]; },
      setDocumentTitle(t) { title = t; },
      setCustomUrl(u) { customUrl = new URL(u, location.href).href; },
      setReferrerUrl(u) { referrer = u; },
      setDomains(list) {
        domains = [].concat(list);
        if (!isSiteHostPath(location.hostname, '/')) domains.push(location.hostname);
      },
      setCookieDomain(dom) { cookieDomain = fixDomain(dom); updateHash(); },
      setCookiePath(p) { cookiePath = p; updateHash(); },
      setCookieSameSite(v) { sameSite = v; if (/^none$/i.test(v)) secure = true; },
      setSecureCookie(b) { secure = !!b; },
      disableCookies() { cookiesOff = true; if (site) deleteCookies(); },
      requireConsent() { consentRequired = true; hasConsent = !!getCookie(CONSENT); if (!hasConsent) cookiesOff = true; },
      setConsentGiven(setCookieConsent) {
        hasConsent = true;
        delCookie(CONSENT_REMOVED);
        const q = queue; queue = [];
        q.forEach(send);
        if (setCookieConsent !== false) self.setCookieConsentGiven();
      },
      rememberConsentGiven(hours) {
        self.setConsentGiven(true);
        remember(CONSENT, hours);
      },
      forgetConsentGiven(hours) {
        delCookie(CONSENT);
        remember(CONSENT_REMOVED, hours);
        self.forgetCookieConsentGiven();
        self.requireConsent();
      },
      requireCookieConsent() { if (getCookie(COOKIE_CONSENT)) return false; self.disableCookies(); return true; },
      setCookieConsentGiven() {
        if (cookiesOff && !dnt) {
          cookiesOff = false;
          // As js/piwik.js: the id cookie first, so the ping is of a known visitor (_idn=0).
          if (site && sentYet) { saveId(visitor()); track('ping=1'); }
        }
      },
      rememberCookieConsentGiven(hours) {
        self.setCookieConsentGiven();
        remember(COOKIE_CONSENT, hours);
      },
      forgetCookieConsentGiven() { delCookie(COOKIE_CONSENT); self.disableCookies(); },
      setDoNotTrack(enable) {
        const v = nav.doNotTrack;
        dnt = !!enable && (v === 'yes' || v === '1');
        if (dnt) self.disableCookies();
      },
      enableHeartBeatTimer(sec) { heartbeat = Math.max(sec || 15, 5) * 1000; if (sentYet) setUpHeartbeat(); },
      disableHeartBeatTimer() { heartbeat = 0; },
      setRequestMethod(m) { method = String(m || 'GET').toUpperCase(); if (method === 'GET') beacon = false; },
      alwaysUseSendBeacon() { beacon = true; },
      disableAlwaysUseSendBeacon() { beacon = false; },
    });

    if (!FULL) {
      // Both `_paq.push([name])` and `tracker.name()` reach the warning.
      return new Proxy(this, { get: (t, k) => t[k] || (FULL_ONLY.test(String(k)) ? () => warn(k + ' is only in matomo.full.js') : t[k]) });
    }
    // The cart's items with js/piwik.js defaults: no name or category '', no price 0, no quantity 1.
    function cart() {
      const items = Object.values(ecItems).map((i) => {
        for (const [at, dflt] of [[1, ''], [2, ''], [3, 0], [4, 1]]) if (!isDef(i[at]) || (at > 2 && !String(i[at]).length)) i[at] = dflt;
        return i;
      });
      return '&ec_items=' + enc(JSON.stringify(items));
    }
    const cvScope = (s) => (s === 'page' || s === 3 ? cvPage : s === 'event' ? cvEvent : s === 'visit' || s === 2 ? (cvVisit = cvVisit || {}) : 0);
    Object.assign(this, {
      // Ecommerce (js/piwik.js setEcommerceView, addEcommerceItem, logEcommerce).
      setEcommerceView(sku, name, cat, price) {
        ecView = {};
        if (hasLen(cat)) cat = String(cat);
        ecView._pkc = !isDef(cat) || cat === null || cat === false || !cat.length ? '' : Array.isArray(cat) ? JSON.stringify(cat) : cat;
        if (isDef(price) && price !== null && price !== false && String(price).length) ecView._pkp = price;
        if (!hasLen(sku) && !hasLen(name)) return;
        if (hasLen(sku)) ecView._pks = sku;
        ecView._pkn = hasLen(name) ? name : '';
      },
      getEcommerceItems: () => JSON.parse(JSON.stringify(ecItems)),
      addEcommerceItem(sku, name, cat, price, qty) { if (hasLen(sku)) ecItems[sku] = [String(sku), name, cat, price, qty]; },
      removeEcommerceItem(sku) { if (hasLen(sku)) delete ecItems[String(sku)]; },
      clearEcommerceCart() { ecItems = {}; },
      // Like js/piwik.js, an absent subtotal, tax, shipping or discount is sent as `undefined`
      // (it checks String(value).length).
      trackEcommerceOrder(id, total, sub, tax, ship, disc) {
        if (!String(id).length || !isDef(total)) return;
        let req = 'idgoal=0&ec_id=' + enc(id) + '&revenue=' + total;
        for (const [k, v] of [['st', sub], ['tx', tax], ['sh', ship], ['dt', disc]]) if (String(v).length) req += '&ec_' + k + '=' + v;
        track(req + cart());
        ecItems = {};
      },
      trackEcommerceCartUpdate(total) {
        if (!isDef(total)) return;
        track('idgoal=0&revenue=' + total + cart());
      },
      // Custom variables (js/piwik.js setCustomVariable: names and values cut at 200 characters).
      setCustomVariable(i, name, value, scope) {
        if (!isDef(name) || !(i > 0)) return;
        const o = cvScope(isDef(scope) ? scope : 'visit');
        if (o) o[i] = [String(name).slice(0, 200), String(isDef(value) ? value : '').slice(0, 200)];
      },
      getCustomVariable(i, scope) {
        const o = cvScope(isDef(scope) ? scope : 'visit'), v = o && o[i];
        return !v || v[0] === '' ? false : v;
      },
      deleteCustomVariable(i, scope) { if (self.getCustomVariable(i, scope)) self.setCustomVariable(i, '', '', scope); },
      deleteCustomVariables(scope) {
        if (scope === 'page' || scope === 3) cvPage = {};
        else if (scope === 'event') cvEvent = {};
        else if (scope === 'visit' || scope === 2) cvVisit = {};
      },
      // Cross-domain linking (js/piwik.js enableCrossDomainLinking, getCrossDomainLinkingUrlParameter).
      enableCrossDomainLinking() { crossDomain = true; },
      disableCrossDomainLinking() { crossDomain = false; },
      isCrossDomainLinkingEnabled: () => crossDomain,
      setCrossDomainLinkingTimeout(sec) { cdTimeout = sec; },
      getCrossDomainLinkingUrlParameter: () => 'pk_vid=' + enc(crossId()),
      // Content tracking (js/piwik.js buildContentImpressionRequest, trackAllContentImpressions).
      trackContentImpression(n, p, t) {
        n = trim(n); if (!n) return;
        track(content([['c_n', n], ['c_p', trim(p) || 'Unknown'], ['c_t', trim(t)]]));
      },
      trackContentInteraction(i, n, p, t) {
        i = trim(i); n = trim(n); if (!i || !n) return;
        track(content([['c_i', i], ['c_n', n], ['c_p', trim(p) || 'Unknown'], ['c_t', trim(t)]]));
      },
      trackAllContentImpressions() { ready(() => impressions(blocks(d))); },
      trackVisibleContentImpressions(onScroll, ms) {
        onlyVisible = true;
        ready(() => {
          const check = () => impressions(blocks(d), true);
          check();
          if (onScroll !== false) on(w, 'scroll', check);
          if ((isDef(ms) ? ms : 750) > 0) setInterval(check, isDef(ms) ? ms : 750);
        }, true);
      },
      trackContentImpressionsWithinNode(node) {
        if (node) ready(() => impressions([...blocks(node), ...(node.matches(BLOCK) ? [node] : [])], onlyVisible), onlyVisible);
      },
      trackContentInteractionNode(node, i) {
        const n = node && node.closest(BLOCK);
        if (n) { const b = block(n); self.trackContentInteraction(i || 'Unknown', ...b); }
      },
      // Opt-out (js/piwik.js: optUserOut is forgetConsentGiven; forgetUserOptOut gives consent but
      // not cookie consent).
      optUserOut: (h) => self.forgetConsentGiven(h),
      forgetUserOptOut() { self.setConsentGiven(false); },
      isUserOptedOut: () => !hasConsent,
      // Getters. getVisitorInfo first stores the id cookie, so the id stays the same (js/piwik.js).
      getVisitorInfo() {
        if (!getCookie(cname('id'))) saveId(visitor());
        return visitor();
      },
      getVisitorId: () => self.getVisitorInfo()[1],
      getAttributionInfo: refCookie,
      getAttributionCampaignName: () => refCookie()[0],
      getAttributionCampaignKeyword: () => refCookie()[1],
      getAttributionReferrerTimestamp: () => refCookie()[2],
      getAttributionReferrerUrl: () => refCookie()[3],
      getCurrentUrl: here,
      getPageViewId: () => pvId || undefined,
      getUserId: () => userId,
      getCustomDimension: (id) => dims[id],
    });
  }

  // `_paq` command dispatch: unknown commands warn, never throw (js/piwik.js throws a TypeError).
  function apply(...calls) {
    for (const call of calls) {
      if (!call || !call.length) continue;
      const [f, ...args] = call;
      for (const t of trackers.slice()) {
        if (typeof f === 'function') { f.apply(t, args); continue; }
        if (typeof t[f] !== 'function') { warn('unknown command ' + f); break; }
        try { t[f](...args); } catch (e) { warn(f + ': ' + e); }
        if (/^(addTracker|set(TrackerUrl|SiteId))$/.test(f)) break; // first tracker only
      }
    }
  }

  // Configuration commands run before the rest of the initial queue, in queue order (js/piwik.js
  // applyFirst lists the same commands).
  const FIRST = /^(addTracker|forgetCookieConsentGiven|require(Cookie)?Consent|disableCookies|set(TrackerUrl|SiteId|Cookie\w*|SecureCookie|Domains|UserId|(Cookie)?ConsentGiven)|(disableA|a)lwaysUseSendBeacon|enableLinkTracking)$/;

  function createFirst(u, id) {
    const t = new Tracker(u, id);
    trackers.push(t);
    const paq = Array.isArray(w._paq) ? w._paq.slice() : [];
    apply(...paq.filter((c) => c && FIRST.test(c[0])), ...paq.filter((c) => !c || !FIRST.test(c[0])));
    w._paq = { push: apply };
    return t;
  }

  const Matomo = {
    initialized: true,
    getTracker(u, id) {
      const first = trackers[0];
      return new Tracker(isDef(u) ? u : first && first.getTrackerUrl(), isDef(id) ? id : first && first.getSiteId());
    },
    getAsyncTrackers: () => trackers,
    addTracker: (u, id) => (trackers.length ? trackers[0].addTracker(u, id) : createFirst(u, id)),
    getAsyncTracker: (u, id) => (trackers.length
      ? trackers.find((t) => (id == null || String(t.getSiteId()) === String(id)) && (u == null || t.getTrackerUrl() === u))
      : createFirst(u, id)),
  };
  w.Matomo = w.Piwik = Matomo;

  // <script src=".../matomo.js" data-site-id="1" [data-tracker-url] [data-spa] [data-disable-cookies]
  // [data-link-tracking="false"]>: the whole set-up without an inline script.
  const ds = script && script.dataset;
  if (ds && ds.siteId) {
    const paq = Array.isArray(w._paq) ? w._paq : [];
    const yes = (v) => isDef(v) && v !== 'false' && v !== '0';
    paq.unshift(['setTrackerUrl', ds.trackerUrl || new URL(script.src, location.href).origin + '/matomo.php'], ['setSiteId', ds.siteId]);
    if (yes(ds.disableCookies)) paq.unshift(['disableCookies']);
    paq.push(['trackPageView']);
    if (!isDef(ds.linkTracking) || yes(ds.linkTracking)) paq.push(['enableLinkTracking']);
    w._paq = paq;
    if (yes(ds.spa)) {
      let last = location.href;
      const changed = () => setTimeout(() => {
        if (location.href === last) return;
        w._paq.push(['setReferrerUrl', last], ['setCustomUrl', location.href], ['setDocumentTitle', d.title], ['trackPageView']);
        last = location.href;
      }, 0);
      for (const m of ['pushState', 'replaceState']) {
        const orig = history[m];
        history[m] = function () { const r = orig.apply(this, arguments); changed(); return r; };
      }
      on(w, 'popstate', changed);
    }
  }

  if (Array.isArray(w._paq) && w._paq.length) Matomo.addTracker();
  else if (!trackers.length) w._paq = { push: (...c) => (trackers.length ? apply(...c) : warn('no tracker configured')) };
}(window, document));
