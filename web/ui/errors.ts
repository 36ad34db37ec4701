import { ApiRequestError } from '../api/client.ts';
import { getLang as lang, hasString, t } from '../i18n.ts';

/**
 * An API failure in the UI language: the localized meaning of its code. The server's own message
 * (English) is added only in English, or where the code has no localized meaning (with the code).
 */
export function describeError(err: unknown): string {
  if (err instanceof ApiRequestError) {
    const key = `err_${err.code}`;
    if (hasString(key)) {
      const head = t(key);
      return lang() === 'en' && err.message && err.message !== head ? `${head}: ${err.message}` : head;
    }
    const head = `${t('error')} ${err.status || ''}`.trim();
    return lang() === 'en' && err.message ? `${head}: ${err.message}` : `${head} (${err.code})`;
  }
  return `${t('error')}: ${(err as Error)?.message ?? String(err)}`;
}
