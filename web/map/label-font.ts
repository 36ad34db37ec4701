import type { FontFacesSpecification, StyleSpecification } from 'maplibre-gl';
import fontCss from '@fontsource/noto-sans-sc/400.css?raw';

/**
 * The font every label is drawn with: Noto Sans SC, shipped with the app (@fontsource/noto-sans-sc)
 * and served by our own server, so Chinese labels never depend on the fonts of the machine.
 */
export const LABEL_FONT = 'Noto Sans SC Regular';

// The package's ~100 unicode-range slices of the regular weight, as built assets.
const FILE_URLS = import.meta.glob(
  ['../../node_modules/@fontsource/noto-sans-sc/files/noto-sans-sc-*-400-normal.woff2', '!**/*chinese-simplified*'],
  { query: '?url', import: 'default', eager: true },
) as Record<string, string>;

/**
 * The style's `font-faces` for {@link LABEL_FONT}: one entry per slice with its unicode-range, taken
 * from the package's own CSS. MapLibre downloads a slice only when a label needs one of its
 * characters, and waits for it before drawing that glyph (no tofu from a font still loading).
 */
export function labelFontFaces(): FontFacesSpecification {
  const urlByFile = new Map(Object.entries(FILE_URLS).map(([key, url]) => [key.slice(key.lastIndexOf('/') + 1), url]));
  const faces = [];
  for (const block of fontCss.split('@font-face').slice(1)) {
    const file = block.match(/url\(\.\/files\/([^)]+\.woff2)\)/)?.[1];
    const range = block.match(/unicode-range:\s*([^;]+);/)?.[1];
    const url = file ? urlByFile.get(file) : undefined;
    if (!url || !range) continue;
    faces.push({ url: new URL(url, document.baseURI).href, 'unicode-range': range.split(',').map((r) => r.trim()) });
  }
  if (faces.length === 0) throw new Error('no Noto Sans SC font files were bundled');
  return { [LABEL_FONT]: faces };
}

/** Draw every symbol layer of `style` with {@link LABEL_FONT}, and declare its files. */
export function withLabelFont(style: StyleSpecification): StyleSpecification {
  return {
    ...style,
    'font-faces': labelFontFaces(),
    layers: style.layers.map((layer) =>
      layer.type === 'symbol' && layer.layout?.['text-font'] === undefined
        ? { ...layer, layout: { ...layer.layout, 'text-font': [LABEL_FONT] } }
        : layer,
    ),
  };
}

/**
 * Declare the same slices as the page's 'Noto Sans SC' (style.css names it after the system UI
 * font), as @font-face rules: the browser fetches a slice only when text on the page needs one of
 * its characters. (FontFace objects added from script did not re-render text already on the page.)
 */
export function registerUiFont(): void {
  const rules = (labelFontFaces()[LABEL_FONT] as { url: string; 'unicode-range': string[] }[]).map(
    (face) =>
      `@font-face { font-family: 'Noto Sans SC'; font-style: normal; font-weight: 400; font-display: swap; src: url(${JSON.stringify(face.url)}) format('woff2'); unicode-range: ${face['unicode-range'].join(',')}; }`,
  );
  const style = document.createElement('style');
  style.textContent = rules.join('\n');
  document.head.append(style);
}
