// Entry of the heavy-work pool's threads (server/plugins/heavy-pool.ts). Plain JavaScript so that a
// thread starts the same under tsx, vitest or plain Node: it loads the TypeScript through tsx.
import fs from 'node:fs';
import os from 'node:os';
import { workerData } from 'node:worker_threads';
import { move } from 'piscina';
import { tsImport } from 'tsx/esm/api';

// Give up scheduling priority before anything else runs here, compiling the engine included: on
// Linux every thread has its own nice value, and this thread's id is the last part of
// /proc/thread-self ("<pid>/task/<tid>"). Elsewhere (no /proc) the thread keeps its priority.
let threadId = null;
try {
  threadId = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
  const increment = Number(workerData?.niceIncrement ?? 0);
  if (increment > 0) os.setPriority(threadId, Math.min(19, os.getPriority(threadId) + increment));
} catch {
  threadId = null;
}

const { runHeavyTask } = await tsImport('./tasks.ts', import.meta.url);

/**
 * A task's answer; `prepare` answers which thread this is and its nice value, so the pool can show
 * both. A serialised answer (bytes) is moved to the main thread, not copied.
 */
export default function run(task) {
  const answer = runHeavyTask(task);
  if (task.kind === 'prepare') return { threadId, nice: threadId === null ? null : os.getPriority(threadId) };
  return answer instanceof Uint8Array ? move(answer) : answer;
}
