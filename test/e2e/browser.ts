import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { buildApp } from '../../server/app.ts';
import { projectRoot } from '../../server/config.ts';
import { buildWebIfStale } from '../../server/web-build.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts';
import { CHROMIUM_PATH } from '../helpers/ensure-chromium.ts';

/** The flags of shared/STYLE.md "Browser checks": Debian's chromium, software WebGL, no network chatter. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
export const ARTIFACTS = path.join(projectRoot, 'test', 'artifacts');

/** The real server on a copy of the 'central' template (or a database the caller loaded), listening on a free port, and a browser. */
export interface E2eEnv {
  db: TestDatabase;
  app: FastifyInstance;
  base: string;
  browser: Browser;
  close(): Promise<void>;
}

export async function startE2e(options: { load?: (db: TestDatabase) => Promise<void> } = {}): Promise<E2eEnv> {
  await buildWebIfStale(() => {});
  // central Chengdu, or an empty database the caller loads (e.g. a generated town)
  const db = await createTestDatabase(options.load ? 'empty' : 'central');
  if (options.load) await options.load(db);
  const app = await buildApp({ databaseUrl: db.url });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  return {
    db,
    app,
    base,
    browser,
    close: async () => {
      await browser.close();
      await app.close();
      await db.drop();
    },
  };
}

/** GET a JSON answer of the server, asserting 200. */
export async function getJson<T>(env: E2eEnv, url: string): Promise<T> {
  const res = await fetch(new URL(url, env.base));
  expect(res.status, url).toBe(200);
  return (await res.json()) as T;
}

export interface OpenPage {
  page: Page;
  /** Console errors and uncaught page errors seen so far. */
  errors: string[];
  close(): Promise<void>;
}

/** Open the app at `hash` and wait until it is wired and the map has drawn every tile. */
export async function openApp(env: E2eEnv, hash: string, viewport = { width: 1280, height: 800 }): Promise<OpenPage> {
  const context = await env.browser.newContext({ viewport });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  await page.goto(`${env.base}/#${hash}`);
  await page.waitForFunction(() => window.__appReady === true, null, { timeout: 30_000 });
  await mapIdle(page);
  return { page, errors, close: () => context.close() };
}

/** Wait until the map has loaded its style and every visible tile, and is not moving. */
/**
 * Wait until the map has loaded its style and tiles and stopped moving. The bound is generous (a
 * condition, not a sleep: a quiet machine passes in well under a second): at load 17–27 on 2 cores
 * the workbench suite's tiles took over 30 s, the bound before, and failed a good build.
 */
export async function mapIdle(page: Page): Promise<void> {
  await page.waitForFunction(
    () => {
      const map = window.__map;
      return Boolean(map && map.loaded() && map.areTilesLoaded() && !map.isMoving());
    },
    null,
    { timeout: 90_000, polling: 200 },
  );
}

export async function renderedCount(page: Page, layers: string[]): Promise<number> {
  return page.evaluate((ids) => window.__map!.queryRenderedFeatures({ layers: ids }).length, layers);
}

export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

/** Click at fractions of the map's box, one real mouse press per point, as a planner draws. */
export async function clickMapAt(page: Page, points: readonly (readonly [number, number])[]): Promise<void> {
  const box = (await page.locator('#map').boundingBox())!;
  for (const [fx, fy] of points) {
    await page.mouse.move(box.x + box.width * fx, box.y + box.height * fy, { steps: 4 });
    await page.mouse.down();
    await page.mouse.up();
    await page.waitForTimeout(250);
  }
}
