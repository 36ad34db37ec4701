import type { Tags } from './walkability.ts';

/** Facility categories the service measures walking distance to. */
export type CategoryId =
  | 'park'
  | 'green_space'
  | 'greenway'
  | 'elderly_care'
  | 'community_service'
  | 'health'
  | 'education'
  | 'kindergarten'
  | 'primary_school'
  | 'middle_school'
  | 'market'
  | 'sports';

export interface Category {
  id: CategoryId;
  zh: string;
  en: string;
  /** Whether features of this category are areas (parks, green) whose boundary gives access points. */
  areal: boolean;
}

/** Labels shown by the API and the map. */
export const CATEGORIES: readonly Category[] = [
  { id: 'park', zh: '公园', en: 'Park', areal: true },
  { id: 'green_space', zh: '绿地', en: 'Green space', areal: true },
  { id: 'greenway', zh: '绿道', en: 'Greenway', areal: false },
  { id: 'elderly_care', zh: '养老服务设施', en: 'Elderly care', areal: false },
  { id: 'community_service', zh: '社区综合服务设施', en: 'Community service centre', areal: false },
  { id: 'health', zh: '医疗卫生', en: 'Health', areal: false },
  { id: 'education', zh: '教育', en: 'Education', areal: false },
  { id: 'kindergarten', zh: '幼儿园', en: 'Kindergarten', areal: false },
  { id: 'primary_school', zh: '小学', en: 'Primary school', areal: false },
  { id: 'middle_school', zh: '中学', en: 'Middle school', areal: false },
  { id: 'market', zh: '菜市场', en: 'Market', areal: false },
  { id: 'sports', zh: '体育设施', en: 'Sports ground', areal: false },
];

/**
 * Open spaces: entered along every open stretch of their edge, and 0 m from a point inside them
 * (migration 0020's `derive_facility_access_points` names the same two).
 */
export const OPEN_SPACE_CATEGORIES: readonly CategoryId[] = ['park', 'green_space'];

export const CATEGORY_IDS: ReadonlySet<string> = new Set(CATEGORIES.map((c) => c.id));

/**
 * OSM tags → category, in one table (copied into the README). The first matching row wins;
 * `subtype` records the tag value that matched. Green spaces must be public: landuse=grass
 * and similar only count without access=private|no.
 */
export const TAG_CATEGORY_TABLE: ReadonlyArray<{ category: CategoryId; key: string; values: readonly string[] | '*' }> =
  [
    { category: 'park', key: 'leisure', values: ['park'] },
    { category: 'green_space', key: 'leisure', values: ['garden', 'common', 'nature_reserve'] },
    {
      category: 'green_space',
      key: 'landuse',
      values: ['grass', 'recreation_ground', 'village_green', 'forest', 'meadow'],
    },
    { category: 'green_space', key: 'natural', values: ['wood', 'scrub'] },
    {
      category: 'elderly_care',
      key: 'social_facility',
      values: ['nursing_home', 'assisted_living', 'group_home', 'day_care'],
    },
    { category: 'elderly_care', key: 'social_facility:for', values: ['senior'] },
    { category: 'elderly_care', key: 'amenity', values: ['nursing_home'] },
    { category: 'community_service', key: 'amenity', values: ['community_centre', 'townhall', 'social_centre'] },
    { category: 'community_service', key: 'office', values: ['government'] },
    { category: 'health', key: 'amenity', values: ['clinic', 'doctors', 'hospital'] },
    { category: 'health', key: 'healthcare', values: ['clinic', 'doctor', 'centre', 'hospital'] },
    { category: 'kindergarten', key: 'amenity', values: ['kindergarten', 'childcare'] },
    { category: 'education', key: 'amenity', values: ['school', 'college'] },
    { category: 'market', key: 'amenity', values: ['marketplace'] },
    { category: 'market', key: 'shop', values: ['supermarket', 'greengrocer'] },
    { category: 'sports', key: 'leisure', values: ['sports_centre', 'pitch', 'stadium', 'fitness_station', 'track'] },
  ];

const PRIVATE_ACCESS = new Set(['private', 'no']);

/** The category of an OSM feature, or null. Greenways (greenway=yes ways) are handled by the importer. */
export function categoryOf(tags: Tags): { category: CategoryId; subtype: string } | null {
  if (tags.access && PRIVATE_ACCESS.has(tags.access)) return null;
  for (const row of TAG_CATEGORY_TABLE) {
    const v = tags[row.key];
    if (v !== undefined && (row.values === '*' || row.values.includes(v))) {
      const subtype = `${row.key}=${v}`;
      if (row.category === 'education') return { category: schoolLevel(tags), subtype };
      return { category: row.category, subtype };
    }
  }
  return null;
}

/** A way is part of a greenway (绿道) when tagged so; OSM Chengdu 2018 has none mapped. */
export function isGreenwayWay(tags: Tags): boolean {
  return tags.greenway === 'yes' || /绿道|greenway/i.test(tags.name ?? '') || tags.route === 'greenway';
}

/** Schools split by level from isced:level or the Chinese name (小学 primary, 中学 middle). */
function schoolLevel(tags: Tags): CategoryId {
  const isced = tags['isced:level'];
  const name = tags.name ?? '';
  if (isced === '1' || /小学/.test(name)) return 'primary_school';
  if (isced === '2' || isced === '3' || /中学|初中|高中/.test(name)) return 'middle_school';
  return 'education';
}
