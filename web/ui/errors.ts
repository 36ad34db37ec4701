import { ApiRequestError } from '../api/client.ts';
import { hasString, t } from '../i18n.ts';

/** An API failure in words: the localized meaning of its code, then the server's own message. */
export function describeError(err: unknown): string {
  if (err instanceof ApiRequestError) {
    const key = `err_${err.code}`;
    const head = hasString(key) ? t(key) : `${t('error')} ${err.status || ''}`.trim();
    return err.message && err.message !== head ? `${head}: ${err.message}` : head;
  }
  return `${t('error')}: ${(err as Error)?.message ?? String(err)}`;
}
