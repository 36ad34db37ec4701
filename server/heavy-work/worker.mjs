// Entry of the heavy-work pool's threads (server/plugins/heavy-pool.ts). Plain JavaScript so that a
// thread starts the same under tsx, vitest or plain Node: it loads the TypeScript through tsx.
import { tsImport } from 'tsx/esm/api';

const { runHeavyTask } = await tsImport('./tasks.ts', import.meta.url);

export default runHeavyTask;
