// Fetches the stock matomo.js 5.3.1 from Debian trixie's `matomo` package into /tmp without touching
// the system's apt state (shared/TOOLCHAIN.md, "Reference clients"); the same cache as
// tracker-js/test/compare.test.mjs. Never committed: tests only.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync, readdirSync, statSync } from 'node:fs';

const DIR = '/tmp/edgemeter-matomo-ref';
export const STOCK = `${DIR}/x/usr/share/matomo/public/matomo.js`;

/** Returns the path of the stock matomo.js, downloading the .deb first when it is not cached. */
export function fetchStock() {
  if (!existsSync(STOCK)) {
    mkdirSync(`${DIR}/lists/partial`, { recursive: true });
    mkdirSync(`${DIR}/cache/archives/partial`, { recursive: true });
    const mirror = 'http://deb.debian.org/debian';
    writeFileSync(`${DIR}/sources.list`,
      `deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror} trixie main\n`);
    const opts = ['-o', `Dir::Etc::sourcelist=${DIR}/sources.list`, '-o', 'Dir::Etc::sourceparts=-',
      '-o', `Dir::State::Lists=${DIR}/lists`, '-o', `Dir::Cache=${DIR}/cache`];
    execFileSync('apt-get', [...opts, 'update', '-qq'], { stdio: ['ignore', 2, 2] });
    execFileSync('apt-get', [...opts, 'download', 'matomo'], { cwd: DIR, stdio: ['ignore', 2, 2] });
    const deb = readdirSync(DIR).find((f) => /^matomo_.*\.deb$/.test(f));
    if (!deb) throw new Error('apt-get download matomo produced no .deb');
    execFileSync('dpkg-deb', ['-x', `${DIR}/${deb}`, `${DIR}/x`]);
    if (!existsSync(STOCK)) throw new Error(`${STOCK} missing after extracting ${deb}`);
  }
  if (statSync(STOCK).size < 60000) throw new Error(`${STOCK} looks truncated`);
  return STOCK;
}
