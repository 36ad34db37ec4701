import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const webRoot = path.dirname(fileURLToPath(import.meta.url));
/** The API server `npm start` runs; `vite --config web/vite.config.ts` proxies to it in development. */
const apiOrigin = process.env.LIFE_CIRCLE_API ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root: webRoot,
  base: '/',
  publicDir: false,
  build: {
    outDir: path.join(webRoot, 'dist'),
    emptyOutDir: true,
    target: 'es2022',
    // maplibre-gl alone is ~1 MB minified; one chunk for it is expected, not a warning.
    chunkSizeWarningLimit: 1600,
    sourcemap: false,
  },
  server: {
    proxy: {
      '/api': apiOrigin,
      '/tiles': apiOrigin,
      '/docs': apiOrigin,
    },
  },
});
