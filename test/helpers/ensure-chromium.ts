import fs from 'node:fs';
import { ensureDebianPackages } from '../../server/ensure-debian-packages.ts';

/** Debian's browser the browser tests drive (shared/STYLE.md "Browser checks"); never a downloaded build. */
export const CHROMIUM_PATH = '/usr/bin/chromium';
export const CHROMIUM_PACKAGE = 'chromium';

/**
 * Make sure Debian's chromium is installed: apt-get installs it when missing and we are root (as
 * server/db/local-cluster.ts does for PostgreSQL); otherwise fail naming the package. Returns
 * whether it had to install it. `executable` is for the check that this path works.
 */
export function ensureChromium(log: (line: string) => void = console.error, executable = CHROMIUM_PATH): boolean {
  if (fs.existsSync(executable)) return false;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `the browser tests need Debian's ${CHROMIUM_PACKAGE} package (${executable} is missing): install it with "sudo apt-get install ${CHROMIUM_PACKAGE}"`,
    );
  }
  ensureDebianPackages(
    [{ name: CHROMIUM_PACKAGE, isInstalled: () => fs.existsSync(executable) }],
    'the browser tests',
    { log },
  );
  if (!fs.existsSync(executable))
    throw new Error(`apt-get installed ${CHROMIUM_PACKAGE} but ${executable} is still missing`);
  return true;
}
