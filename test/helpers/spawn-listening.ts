import { spawn, type ChildProcess } from 'node:child_process';

/**
 * Starts `node --import tsx <args…>` and resolves once the child prints "listening <port>" on
 * stdout (test/reliability/serve-child.ts and the API bench's --serve mode do). Rejects with the
 * child's stderr if it exits first or does not listen within `timeoutMs`. Kill it yourself.
 */
export function spawnListening(
  args: string[],
  options: { timeoutMs?: number; forwardStderr?: boolean } = {},
): Promise<{ child: ChildProcess; port: number }> {
  const { timeoutMs = 60_000, forwardStderr = false } = options;
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += d;
    if (forwardStderr) process.stderr.write(d);
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => reject(new Error(`the child did not listen within ${timeoutMs / 1000} s: ${stderr}`)),
      timeoutMs,
    );
    child.stdout!.on('data', (d) => {
      out += d;
      const m = out.match(/listening (\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]) });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the child exited (${code}) before listening: ${stderr}`));
    });
  });
}
