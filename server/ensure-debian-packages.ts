import { execFileSync } from 'node:child_process';

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
export function ensureDebianPackages(packages: readonly DebianPackage[], why: string, options: { hint?: string; log?: (line: string) => void } = {}): void {
  const missing = packages.filter((p) => !p.isInstalled()).map((p) => p.name);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`${why} needs the Debian package(s) ${missing.join(', ')}: install them with "sudo apt-get install ${missing.join(' ')}"` + (options.hint ? ` ${options.hint}` : ''));
  }
  (options.log ?? console.error)(`installing ${missing.join(', ')} with apt-get (once) for ${why}…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: 'inherit', env });
  const still = packages.filter((p) => !p.isInstalled()).map((p) => p.name);
  if (still.length) throw new Error(`apt-get finished but ${still.join(', ')} is still missing`);
}
