import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp, shot, startE2e, type E2eEnv } from './browser.ts';

// The app ships Noto Sans SC (@fontsource/noto-sans-sc) and serves it itself: on a machine with no
// CJK font (like this one's Chromium, unless a font package was installed) Chinese still renders.

let env: E2eEnv;
beforeAll(async () => {
  env = await startE2e();
});
afterAll(async () => {
  await env?.close();
});

describe('Chinese text is drawn with the shipped font', () => {
  it('公 and 园 come out as two different glyphs, neither the tofu box, from font files of our own server', async () => {
    const { page, errors, close } = await openApp(
      env,
      'map=16.00/30.66200/104.05800&rs=chengdu-park-city&cat=park&lvl=community&lang=zh&tab=point',
    );
    try {
      const drawn = await page.evaluate(async () => {
        const SIZE = 48;
        await document.fonts.load(`${SIZE}px "Noto Sans SC"`, '公园');
        const draw = (text: string, family: string) => {
          const canvas = document.createElement('canvas');
          canvas.width = canvas.height = SIZE * 2;
          const ctx = canvas.getContext('2d')!;
          ctx.fillStyle = '#fff';
          ctx.fillRect(0, 0, canvas.width, canvas.height);
          ctx.fillStyle = '#000';
          ctx.font = `${SIZE}px ${family}`;
          ctx.textBaseline = 'middle';
          ctx.fillText(text, SIZE / 2, SIZE);
          return Array.from(ctx.getImageData(0, 0, canvas.width, canvas.height).data.filter((_, i) => i % 4 === 0));
        };
        return {
          gong: draw('公', '"Noto Sans SC"'),
          yuan: draw('园', '"Noto Sans SC"'),
          // What the machine draws without the shipped font: a family nobody has, so the fallback.
          gongFallback: draw('公', '"no such font"'),
          // U+10FFFF is a noncharacter no font has a glyph for: the box a missing glyph becomes.
          tofu: draw('\u{10FFFF}', '"Noto Sans SC"'),
          loaded: [...document.fonts].filter(
            (f) => f.family.replace(/"/g, '') === 'Noto Sans SC' && f.status === 'loaded',
          ).length,
          fontFiles: performance
            .getEntriesByType('resource')
            .map((e) => e.name)
            .filter((n) => /\.woff2?(\?|$)/.test(n)),
          labelFont: window
            .__map!.getStyle()
            .layers.filter((l) => l.type === 'symbol')
            .map((l) => (l.layout as Record<string, unknown>)?.['text-font']),
          fontFaces: Object.keys(window.__map!.getStyle()['font-faces'] ?? {}),
        };
      });
      const ink = (px: number[]) => px.filter((v) => v < 128).length;
      const differ = (a: number[], b: number[]) => a.filter((v, i) => Math.abs(v - b[i]) > 64).length;
      expect(drawn.loaded).toBeGreaterThan(0);
      expect(ink(drawn.gong)).toBeGreaterThan(50);
      expect(ink(drawn.yuan)).toBeGreaterThan(50);
      // 园 is a closed box with strokes inside; 公 is open: many pixels differ
      expect(differ(drawn.gong, drawn.yuan)).toBeGreaterThan(100);
      expect(differ(drawn.gong, drawn.tofu)).toBeGreaterThan(50);
      expect(differ(drawn.yuan, drawn.tofu)).toBeGreaterThan(50);
      console.log(
        `公 ${ink(drawn.gong)} ink px, 园 ${ink(drawn.yuan)}, ${differ(drawn.gong, drawn.yuan)} differ; fallback 公 ${ink(drawn.gongFallback)} ink px, ${differ(drawn.gong, drawn.gongFallback)} differ from the shipped one; ${drawn.fontFiles.length} font files fetched`,
      );
      // every font file came from this server
      expect(drawn.fontFiles.length).toBeGreaterThan(0);
      for (const url of drawn.fontFiles) expect(new URL(url).origin).toBe(env.base);
      // map labels are drawn with the shipped font, declared in the style
      expect(drawn.fontFaces).toEqual(['Noto Sans SC Regular']);
      expect(drawn.labelFont.length).toBeGreaterThan(0);
      for (const f of drawn.labelFont) expect(f).toEqual(['Noto Sans SC Regular']);
      // the page's own Chinese (the title, drawn first) is in the shipped font: its slices loaded,
      // and it is laid out with them (a box is as wide as the em; 公园 differ in width from it)
      const title = await page.evaluate(async () => {
        await document.fonts.ready;
        const h1 = document.querySelector('h1')!;
        const text = [...h1.textContent!].filter((c) => /[\u4e00-\u9fff]/.test(c)).join('');
        return { text, loaded: document.fonts.check('650 17px "Noto Sans SC"', text) };
      });
      expect(title.text.length).toBeGreaterThan(3);
      expect(title.loaded, title.text).toBe(true);
      await shot(page, 'fonts-zh-labels');
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  });
});
