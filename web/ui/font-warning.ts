import { t } from '../i18n.ts';
import { h } from './dom.ts';

/**
 * Chinese text needs the shipped Noto Sans SC (label-font.ts): when its files fail to load (a proxy
 * blocking them, a broken build), a machine without a CJK font shows boxes. Say so, in both
 * languages: the reader may not be able to read the one that failed.
 */
export async function warnIfFontMissing(sample: string, timeoutMs = 8000): Promise<boolean> {
  const loaded = await Promise.race([
    document.fonts.load(`17px "Noto Sans SC"`, sample).then(
      (faces) => faces.length > 0,
      () => false,
    ),
    new Promise<null>((resolve) => setTimeout(() => resolve(null), timeoutMs)),
  ]);
  // null: still loading after the wait (a slow link), not a failure
  if (loaded !== false) return false;
  const bar = h(
    'div',
    { class: 'font-warning', role: 'alert', id: 'font-warning' },
    `${t('fontMissing')} / Chinese font failed to load: Chinese text may show as boxes`,
  );
  document.body.prepend(bar);
  return true;
}
