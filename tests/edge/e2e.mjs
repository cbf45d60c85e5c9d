// End-to-end test of the edge: the built Worker (edge/build) under workerd via Miniflare 4, its
// Queue producer and consumer, and a real origin (`edgemeter serve` on SQLite) behind a counting
// proxy. Run by scripts/test-edge, which builds both first.
//
// Why a Node script and not a Rust test: Miniflare is a Node API, so a Rust test would only spawn
// this same Node code; here the Worker, its queues and the proxy live in one process that we can
// stop deterministically (mf.dispose()).
//
// It asserts: Matomo's answers at the edge (GET, form POST, empty-body POST with URL parameters as
// sendBeacon sends, bulk, preflight); every beacon stored exactly once; nothing lost or duplicated
// while the origin is down and after it restarts; a tampered batch refused with 401. It then
// measures CPU per beacon, beacons/s and bytes per request on the wire, and prints them as JSON.
//
// Environment: EDGEMETER_BIN (the origin binary), EDGE_BUILD_DIR (default edge/build),
// E2E_BENCH_BEACONS (default 3000; 0 skips the measurements).

import { Miniflare } from "miniflare";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { createServer, request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import assert from "node:assert/strict";

const ROOT = resolve(new URL("../..", import.meta.url).pathname);
const BUILD = resolve(ROOT, process.env.EDGE_BUILD_DIR ?? "edge/build");
const BIN = process.env.EDGEMETER_BIN;
const BENCH = Number(process.env.E2E_BENCH_BEACONS ?? 3000);
if (!BIN) throw new Error("set EDGEMETER_BIN to the origin binary (scripts/test-edge does)");

const dir = mkdtempSync(join(tmpdir(), "edgemeter-e2e-"));
const db = join(dir, "db.sqlite");
const dbUrl = `sqlite://${db}`;
const secret = randomBytes(32).toString("hex");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.error("[e2e]", ...a);

async function freePort() {
  const server = createServer();
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

// ---- the origin --------------------------------------------------------------------------------
const originPort = await freePort();
let origin = null;

function startOrigin() {
  const child = spawn(BIN, ["serve", "--listen", `127.0.0.1:${originPort}`, "--database-url", dbUrl], {
    env: { ...process.env, EDGEMETER_INGEST_SECRET: secret, RUST_LOG: process.env.RUST_LOG ?? "warn" },
    stdio: ["ignore", "inherit", "inherit"],
  });
  child.on("exit", (code, signal) => log(`origin exited (${code ?? signal})`));
  return child;
}

async function waitForOrigin() {
  for (let i = 0; i < 200; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${originPort}/healthz`);
      if (r.status < 500) return;
    } catch {}
    await sleep(100);
  }
  throw new Error("the origin did not start");
}

async function stopOrigin() {
  if (!origin) return;
  const exited = new Promise((r) => origin.once("exit", r));
  origin.kill("SIGTERM");
  await Promise.race([exited, sleep(10000)]);
  origin = null;
}

// ---- a proxy between edge and origin: counts the bytes on the wire, keeps one real batch --------
const proxyPort = await freePort();
const wire = { batches: 0, bodyBytes: 0, headerBytes: 0, statuses: {} };
let lastBatch = null;
const proxy = createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    const headerBytes = Object.entries(req.headers).reduce((n, [k, v]) => n + k.length + String(v).length + 4, 0)
      + `${req.method} ${req.url} HTTP/1.1\r\n\r\n`.length;
    const up = httpRequest(
      { host: "127.0.0.1", port: originPort, method: req.method, path: req.url, headers: req.headers },
      (upRes) => {
        const upChunks = [];
        upRes.on("data", (c) => upChunks.push(c));
        upRes.on("end", () => {
          if (req.url === "/ingest") {
            wire.statuses[upRes.statusCode] = (wire.statuses[upRes.statusCode] ?? 0) + 1;
            if (upRes.statusCode === 200) {
              wire.batches += 1;
              wire.bodyBytes += body.length;
              wire.headerBytes += headerBytes;
              lastBatch = { body, headers: { ...req.headers } };
            }
          }
          res.writeHead(upRes.statusCode, upRes.headers);
          res.end(Buffer.concat(upChunks));
        });
      },
    );
    // Origin down: answer 502 so the edge's consumer retries with backoff.
    up.on("error", () => {
      if (req.url === "/ingest") wire.statuses[502] = (wire.statuses[502] ?? 0) + 1;
      res.writeHead(502);
      res.end();
    });
    up.end(body);
  });
});
await new Promise((r) => proxy.listen(proxyPort, "127.0.0.1", r));

// ---- storage checks (SQLite, read with Python's sqlite3: Node 20 has no SQLite module) ----------
function sql(query) {
  const out = execFileSync("python3", ["-c", `
import sqlite3, sys, json
c = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True, timeout=10)
print(json.dumps(c.execute(sys.argv[2]).fetchall()))
`, db, query]);
  return JSON.parse(out.toString());
}

/** How many stored actions carry each action name that starts with `prefix`. */
function storedCounts(prefix) {
  const rows = sql(`SELECT a.name, COUNT(*) FROM log_link_visit_action l
    JOIN log_action a ON a.idaction = l.idaction_name
    WHERE a.name LIKE '${prefix}%' GROUP BY a.name`);
  return new Map(rows);
}

async function waitStoredExactlyOnce(names, timeoutMs) {
  const prefix = "e2e-";
  const deadline = Date.now() + timeoutMs;
  let counts = new Map();
  while (Date.now() < deadline) {
    counts = storedCounts(prefix);
    if (names.every((n) => counts.get(n) >= 1)) break;
    await sleep(250);
  }
  const missing = names.filter((n) => !counts.has(n));
  assert.deepEqual(missing, [], `beacons never stored: ${missing.slice(0, 10).join(", ")}`);
  // Let any late retry land, then check for duplicates.
  await sleep(2500);
  counts = storedCounts(prefix);
  const dup = [...counts].filter(([, c]) => c !== 1);
  assert.deepEqual(dup, [], "every beacon is stored exactly once");
  return counts;
}

// ---- the edge under workerd ----------------------------------------------------------------------
function miniflare(bindings) {
  return new Miniflare({
    modules: true,
    scriptPath: join(BUILD, "index.js"),
    modulesRoot: BUILD,
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
    compatibilityDate: "2026-04-26",
    cf: false,
    host: "127.0.0.1",
    port: 0,
    bindings,
    queueProducers: {
      BEACONS: { queueName: "edgemeter-beacons" },
      DEAD_LETTERS: { queueName: "edgemeter-beacons-dlq" },
    },
    queueConsumers: {
      "edgemeter-beacons": {
        maxBatchSize: 100,
        maxBatchTimeout: 1,
        maxRetries: 20,
        deadLetterQueue: "edgemeter-beacons-dlq",
      },
    },
  });
}

let mf = null;
const results = {};
let failed = false;
try {
  const idsite = execFileSync(BIN, ["site", "add", "--name", "e2e", "--url", "https://example.com", "--database-url", dbUrl], {
    env: { ...process.env, RUST_LOG: "warn" },
  }).toString().trim();
  assert.match(idsite, /^\d+$/, `site add printed an idsite (got ${idsite})`);
  origin = startOrigin();
  await waitForOrigin();

  mf = miniflare({
    ORIGIN_URL: `http://127.0.0.1:${proxyPort}`,
    INGEST_SECRET: secret,
    FINGERPRINT_KEY: "e2e-fingerprint-key",
    ALIAS_PATH: "/_a/e",
    SCRIPT_ALIAS_PATH: "/_a/s.js",
    ANONYMIZE_IP_BYTES: "2",
    CORS_ALLOWED_ORIGINS: "*",
    KNOWN_SITE_IDS: "",
  });
  const base = (await mf.ready).toString().replace(/\/$/, "");
  log(`edge at ${base}, origin at 127.0.0.1:${originPort} (via proxy ${proxyPort})`);
  const sent = [];
  const hit = (name, extra = "") => {
    sent.push(name);
    return `idsite=${idsite}&rec=1&action_name=${name}&url=${encodeURIComponent(`https://example.com/${name}`)}${extra}`;
  };
  const ua = { "user-agent": "Mozilla/5.0 (X11; Linux x86_64) e2e", "accept-language": "de-CH" };

  // 1. GET: the GIF.
  let r = await fetch(`${base}/matomo.php?${hit("e2e-get-1")}`, { headers: ua });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("content-type"), "image/gif");
  assert.equal(r.headers.get("cache-control"), "no-store");
  assert.equal(r.headers.get("cross-origin-resource-policy"), "cross-origin");
  assert.equal((await r.arrayBuffer()).byteLength, 43);
  r = await fetch(`${base}/piwik.php?${hit("e2e-get-2")}`, { headers: ua });
  assert.equal(r.status, 200);
  await r.arrayBuffer();
  r = await fetch(`${base}/_a/e?${hit("e2e-get-alias")}`, { headers: ua });
  assert.equal(r.status, 200);
  await r.arrayBuffer();

  // 2. Form POST: CORS with the request's Origin.
  r = await fetch(`${base}/matomo.php`, {
    method: "POST",
    headers: { ...ua, origin: "https://example.com", "content-type": "application/x-www-form-urlencoded" },
    body: hit("e2e-form-1"),
  });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("access-control-allow-origin"), "https://example.com");
  assert.equal(r.headers.get("access-control-allow-credentials"), "true");
  await r.arrayBuffer();

  // 3. sendBeacon's shape: POST, empty body, parameters in the URL, send_image=0.
  r = await fetch(`${base}/matomo.php?${hit("e2e-beacon-1", "&send_image=0")}`, { method: "POST", headers: ua });
  assert.equal(r.status, 204);

  // 4. Bulk, with an invalid element, JSON answer; and bulk with send_image 0.
  const b1 = hit("e2e-bulk-1");
  const b2 = hit("e2e-bulk-2");
  r = await fetch(`${base}/matomo.php`, {
    method: "POST",
    headers: ua,
    body: JSON.stringify({ requests: [`?${b1}`, Object.fromEntries(new URLSearchParams(b2)), "?idsite=0&rec=1"] }),
  });
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), { status: "success", tracked: 2, invalid: 1 });
  r = await fetch(`${base}/matomo.php`, {
    method: "POST",
    headers: ua,
    body: JSON.stringify({ requests: [`?${hit("e2e-bulk-3")}`], send_image: 0 }),
  });
  assert.equal(r.status, 204);

  // 5. Preflight, invalid idsite, bare GET, tracker script, unknown path.
  r = await fetch(`${base}/matomo.php`, { method: "OPTIONS", headers: { "access-control-request-method": "POST", origin: "https://example.com" } });
  assert.equal(r.status, 204);
  assert.equal(r.headers.get("access-control-allow-methods"), "GET, POST");
  r = await fetch(`${base}/matomo.php?idsite=0&rec=1`);
  assert.equal(r.status, 400);
  await r.arrayBuffer();
  r = await fetch(`${base}/matomo.php`);
  assert.equal(r.status, 200);
  assert.match(await r.text(), /^This resource is part of Matomo/);
  r = await fetch(`${base}/matomo.js`);
  assert.ok([200, 404].includes(r.status), "the script is served, or a clear 404 before tracker-js is merged");
  if (r.status === 200) assert.ok(r.headers.get("etag"));
  await r.arrayBuffer();
  r = await fetch(`${base}/nothing-here`);
  assert.equal(r.status, 404);
  await r.arrayBuffer();

  await waitStoredExactlyOnce(sent, 30000);
  log(`phase 1: ${sent.length} beacons stored exactly once`);

  // 6. Origin down: the edge keeps answering; nothing is lost.
  await stopOrigin();
  const downStart = sent.length;
  for (let i = 1; i <= 20; i++) {
    r = await fetch(`${base}/matomo.php?${hit(`e2e-down-${i}`, "&send_image=0")}`, { method: "POST", headers: ua });
    assert.equal(r.status, 204, "the edge answers while the origin is down");
  }
  await sleep(4000); // the consumer tries, gets 502, schedules retries
  assert.ok((wire.statuses[502] ?? 0) >= 1, "the consumer tried the origin while it was down");
  origin = startOrigin();
  await waitForOrigin();
  for (let i = 1; i <= 5; i++) {
    r = await fetch(`${base}/matomo.php?${hit(`e2e-after-${i}`)}`, { headers: ua });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
  }
  await waitStoredExactlyOnce(sent, 90000);
  log(`phase 2: ${sent.length - downStart} beacons sent around an origin restart stored exactly once`);
  const ingested = sql("SELECT COUNT(*) FROM ingested_request")[0][0];
  assert.equal(ingested, sent.length, "one ingested request id per beacon");

  // 7. A tampered batch is refused.
  assert.ok(lastBatch, "a batch went through the proxy");
  const tampered = Buffer.from(lastBatch.body);
  tampered[tampered.length - 1] ^= 0xff;
  const headers = { ...lastBatch.headers };
  delete headers["content-length"];
  delete headers.host;
  r = await fetch(`http://127.0.0.1:${originPort}/ingest`, { method: "POST", headers, body: tampered });
  assert.equal(r.status, 401, "a tampered batch is refused");
  r = await fetch(`http://127.0.0.1:${originPort}/ingest`, { method: "POST", headers: { ...headers, "x-edgemeter-signature": "00" }, body: lastBatch.body });
  assert.equal(r.status, 401, "a wrong signature is refused");
  log("phase 3: tampered batches refused with 401");

  // 8. Measurements.
  const wasm = readdirSync(BUILD).find((f) => f.endsWith(".wasm"));
  const wasmBytes = readFileSync(join(BUILD, wasm));
  results.wasm_raw_bytes = wasmBytes.length;
  results.wasm_gzip_bytes = gzipSync(wasmBytes, { level: 9 }).length;
  results.wire_bytes_per_request = Math.round((wire.bodyBytes + wire.headerBytes) / sent.length);
  results.wire_body_bytes_per_request = Math.round(wire.bodyBytes / sent.length);
  results.batches = wire.batches;
  if (BENCH > 0) Object.assign(results, await bench(base, idsite));
  console.log(JSON.stringify(results));
} catch (err) {
  failed = true;
  console.error(err);
} finally {
  await mf?.dispose().catch(() => {});
  await stopOrigin();
  proxy.close();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);

// ---- benchmark -----------------------------------------------------------------------------------
function workerdPids() {
  // Miniflare's workerd processes: descendants of this Node process named workerd.
  const parent = new Map();
  const comm = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      comm.set(entry, stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")));
      parent.set(entry, stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    } catch {}
  }
  const descends = (pid) => {
    for (let p = pid, hops = 0; p && p !== "0" && hops < 10; p = parent.get(p), hops++) {
      if (p === String(process.pid)) return true;
    }
    return false;
  };
  return [...comm].filter(([pid, name]) => name.startsWith("workerd") && descends(parent.get(pid))).map(([pid]) => pid);
}

function cpuMs(pids) {
  const tick = 1000 / 100; // USER_HZ is 100 on Linux
  return pids.reduce((sum, pid) => {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return sum + (Number(fields[11]) + Number(fields[12])) * tick; // utime + stime
  }, 0);
}

async function bench(base, idsite) {
  const pids = workerdPids();
  const rounds = 5;
  const perRound = Math.max(1, Math.floor(BENCH / rounds));
  const concurrency = 16;
  const cpuPerBeacon = [];
  const rates = [];
  let n = 0;
  for (let round = 0; round < rounds; round++) {
    const cpu0 = pids.length ? cpuMs(pids) : 0;
    const t0 = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < perRound) {
        next++;
        const i = n++;
        const res = await fetch(`${base}/matomo.php?idsite=${idsite}&rec=1&action_name=bench-${i}&url=https%3A%2F%2Fexample.com%2F${i}&send_image=0`, {
          method: "POST",
          headers: { "user-agent": "bench" },
        });
        if (res.status !== 204) throw new Error(`bench beacon answered ${res.status}`);
      }
    }));
    const seconds = (performance.now() - t0) / 1000;
    await sleep(1500); // let the queue consumer's work for this round count in this round
    const cpu = pids.length ? cpuMs(pids) - cpu0 : NaN;
    cpuPerBeacon.push(cpu / perRound);
    rates.push(perRound / seconds);
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return {
    bench_beacons: perRound * rounds,
    workerd_cpu_ms_per_beacon_median: Number(median(cpuPerBeacon).toFixed(3)),
    beacons_per_second_median: Math.round(median(rates)),
  };
}
