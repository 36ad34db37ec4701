/** Roles a register column can play. */
export type ColumnRole = 'name' | 'lng' | 'lat' | 'capacity' | 'address';

/**
 * Headers recognised for each role, compared after {@link normaliseHeader} (NFKC folds
 * full-width letters, then lower case). Extend here, and in the README's register section.
 */
export const COLUMN_ALIASES: Readonly<Record<ColumnRole, readonly string[]>> = {
  name: ['name', '名称', '机构名称'],
  lng: ['lng', 'lon', 'long', 'longitude', 'x', '经度'],
  lat: ['lat', 'latitude', 'y', '纬度'],
  capacity: ['capacity', '床位数', '规模'],
  address: ['address', '地址'],
};
export const COLUMN_ROLES = Object.keys(COLUMN_ALIASES) as ColumnRole[];

/** Header text compared case- and width-insensitively: `ＬＮＧ` and ` lng ` both give `lng`. */
export function normaliseHeader(header: string): string {
  return header.normalize('NFKC').trim().toLowerCase();
}

/** `--columns name=机构名称,lng=X坐标,lat=Y坐标` as role → header; throws on a malformed entry. */
export function parseColumnsOption(value: string): Partial<Record<ColumnRole, string>> {
  const out: Partial<Record<ColumnRole, string>> = {};
  for (const part of value.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    const role = normaliseHeader(eq > 0 ? part.slice(0, eq) : '') as ColumnRole;
    if (eq <= 0 || !COLUMN_ROLES.includes(role) || part.slice(eq + 1).trim() === '') {
      throw new Error(`--columns takes role=header pairs with roles ${COLUMN_ROLES.join(', ')} (got "${part}")`);
    }
    out[role] = part.slice(eq + 1).trim();
  }
  return out;
}

/** Why the header row cannot be used: role, and the message that lists the headers found. */
export interface ColumnProblem {
  role: ColumnRole;
  reason: string;
}

/**
 * The header of each role: the one named in `overrides`, else the single header matching an
 * alias. `required` roles must be found. Returns the columns, or the problems (missing,
 * ambiguous, or an override naming no header), each listing the headers found.
 */
export function findColumns(
  headers: readonly string[],
  required: readonly ColumnRole[],
  overrides: Partial<Record<ColumnRole, string>> = {},
): { columns: Partial<Record<ColumnRole, string>>; problems: ColumnProblem[] } {
  const found = `headers found: ${headers.map((h) => JSON.stringify(h)).join(', ') || 'none'}`;
  const columns: Partial<Record<ColumnRole, string>> = {};
  const problems: ColumnProblem[] = [];
  for (const role of COLUMN_ROLES) {
    const override = overrides[role];
    if (override !== undefined) {
      const match = headers.filter((h) => normaliseHeader(h) === normaliseHeader(override));
      if (match.length === 1) columns[role] = match[0];
      else
        problems.push({
          role,
          reason: `--columns ${role}=${override} names ${match.length ? 'more than one' : 'no'} column (${found})`,
        });
      continue;
    }
    const match = headers.filter((h) => COLUMN_ALIASES[role].includes(normaliseHeader(h)));
    if (match.length === 1) columns[role] = match[0];
    else if (match.length > 1) {
      problems.push({
        role,
        reason: `is ambiguous: ${match.map((h) => JSON.stringify(h)).join(' and ')} could both be the ${role} column; choose one with --columns ${role}=<header> (${found})`,
      });
    } else if (required.includes(role)) {
      problems.push({
        role,
        reason: `has no "${role}" column (recognised: ${COLUMN_ALIASES[role].join(', ')}; ${found}); name it with --columns ${role}=<header>`,
      });
    }
  }
  return { columns, problems };
}
