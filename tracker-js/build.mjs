// Builds dist/matomo.js: src/tracker.js minified with terser. Deterministic, so the committed
// dist can be compared with a fresh build (`node build.mjs --check` fails when they differ).
import { readFileSync, writeFileSync } from 'node:fs';
import { minify } from 'terser';

const here = new URL('.', import.meta.url);
const src = readFileSync(new URL('src/tracker.js', here), 'utf8');
const out = await minify(src, {
  ecma: 2020,
  compress: { passes: 3, unsafe: true, unsafe_arrows: true, pure_getters: true },
  mangle: true,
  format: { comments: false },
});
const code = out.code + '\n';
const dist = new URL('dist/matomo.js', here);
if (process.argv.includes('--check')) {
  let old = '';
  try { old = readFileSync(dist, 'utf8'); } catch { /* missing counts as different */ }
  if (old !== code) {
    console.error('dist/matomo.js is not up to date with src/tracker.js: run `npm run build` in tracker-js and commit it');
    process.exit(1);
  }
  console.log('dist/matomo.js is up to date');
} else {
  writeFileSync(dist, code);
  console.log(`wrote dist/matomo.js (${code.length} bytes)`);
}
