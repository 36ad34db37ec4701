/**
 * CSV for spreadsheets: UTF-8 with a byte-order mark (so Excel opens Chinese text correctly), CRLF
 * line ends, quoted fields, and cells that start with = + - @ (or tab / CR) prefixed with an
 * apostrophe so a spreadsheet never runs them as formulas (OWASP "CSV injection").
 */
export function toCsv(header: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const lines = [header, ...rows].map((r) => r.map(csvCell).join(','));
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}

export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let s = typeof value === 'number' ? (Number.isFinite(value) ? String(value) : '') : String(value);
  if (typeof value !== 'number' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n']/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}
