import { execFileSync } from 'node:child_process';

const APT_LOCK_FILE = '/tmp/life-circle-apt.lock';

/** One Debian package the project needs, and how to tell it is installed. */
export interface DebianPackage {
  name: string;
  isInstalled: () => boolean;
}

/** Whether `command` runs (`command args…` exits 0), e.g. `commandRuns('ogr2ogr', ['--version'])`. */
export function commandRuns(command: string, args: readonly string[] = ['--version']): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Make sure the Debian packages are installed: when some are missing and we run as root, install
 * them with apt-get (once); otherwise fail with `hint` and the apt-get line to run. `why` says
 * what needs them (in messages). Throws when apt-get finished but a package is still missing.
 */
export function ensureDebianPackages(
  packages: readonly DebianPackage[],
  why: string,
  options: { hint?: string; log?: (line: string) => void } = {},
): void {
  const missing = packages.filter((p) => !p.isInstalled()).map((p) => p.name);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `${why} needs the Debian package(s) ${missing.join(', ')}: install them with "sudo apt-get install ${missing.join(' ')}"` +
        (options.hint ? ` ${options.hint}` : ''),
    );
  }
  (options.log ?? console.error)(`installing ${missing.join(', ')} with apt-get (once) for ${why}…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Test files run in parallel workers and several may need the same package: one apt-get at a
  // time (flock on our own lock file), and apt itself waits for a dpkg lock held by anyone else
  // instead of failing at once. Whoever waited re-checks: the first one may have installed it.
  const apt = (args: string[]) =>
    execFileSync('flock', ['-w', '1800', APT_LOCK_FILE, 'apt-get', '-o', 'DPkg::Lock::Timeout=900', ...args], {
      stdio: 'inherit',
      env,
    });
  apt(['update', '-qq']);
  const stillMissing = packages.filter((p) => !p.isInstalled()).map((p) => p.name);
  if (stillMissing.length) apt(['install', '-y', '-qq', ...stillMissing]);
  const still = packages.filter((p) => !p.isInstalled()).map((p) => p.name);
  if (still.length) throw new Error(`apt-get finished but ${still.join(', ')} is still missing`);
}
