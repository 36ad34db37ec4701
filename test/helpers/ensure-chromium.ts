import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

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
    throw new Error(`the browser tests need Debian's ${CHROMIUM_PACKAGE} package (${executable} is missing): install it with "sudo apt-get install ${CHROMIUM_PACKAGE}"`);
  }
  log(`installing ${CHROMIUM_PACKAGE} with apt-get (once)…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', CHROMIUM_PACKAGE], { stdio: 'inherit', env });
  if (!fs.existsSync(executable)) throw new Error(`apt-get installed ${CHROMIUM_PACKAGE} but ${executable} is still missing`);
  return true;
}
