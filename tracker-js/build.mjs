// Builds the two trackers from src/tracker.js with terser: dist/matomo.js (the default build, the
// commands nearly every site uses; `FULL` is false, so terser drops the `if (FULL)` blocks) and
// dist/matomo.full.js (`FULL` true: the whole supported matomo.js API). Deterministic, so the
// committed dist can be compared with a fresh build (`node build.mjs --check` fails when they differ).
import { readFileSync, writeFileSync } from 'node:fs';
import { minify } from 'terser';

const here = new URL('.', import.meta.url);
const src = readFileSync(new URL('src/tracker.js', here), 'utf8');
const BUILDS = { 'dist/matomo.js': false, 'dist/matomo.full.js': true };
let stale = false;
for (const [file, full] of Object.entries(BUILDS)) {
  const out = await minify(src, {
    ecma: 2020,
    compress: { passes: 3, unsafe: true, unsafe_arrows: true, pure_getters: true, global_defs: { FULL: full } },
    mangle: true,
    format: { comments: false },
  });
  const code = out.code + '\n';
  const dist = new URL(file, here);
  if (process.argv.includes('--check')) {
    let old = '';
    try { old = readFileSync(dist, 'utf8'); } catch { /* missing counts as different */ }
    if (old !== code) {
      console.error(`${file} is not up to date with src/tracker.js: run \`npm run build\` in tracker-js and commit it`);
      stale = true;
    } else console.log(`${file} is up to date`);
  } else {
    writeFileSync(dist, code);
    console.log(`wrote ${file} (${code.length} bytes)`);
  }
}
if (stale) process.exit(1);
