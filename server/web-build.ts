import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from './config.ts';

const WEB_DIR = path.join(projectRoot, 'web');
const DIST = path.join(WEB_DIR, 'dist');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name === 'node_modules') continue;
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

/** Build the web app with Vite when web/dist is missing or older than web/ sources. */
export async function buildWebIfStale(log: (line: string) => void = console.error): Promise<void> {
  if (!fs.existsSync(path.join(WEB_DIR, 'index.html'))) return;
  const built = path.join(DIST, 'index.html');
  if (fs.existsSync(built) && fs.statSync(built).mtimeMs >= newestMtime(WEB_DIR)) return;
  log('building the web app with Vite…');
  const { build } = await import('vite');
  await build({ configFile: path.join(WEB_DIR, 'vite.config.ts'), logLevel: 'warn' });
}
