import type { RuleSet, RuleTier } from './types.ts';

const CITE = 'GB/T 50563-2010 城市园林绿化评价标准, 公园绿地服务半径覆盖率';

/** The service radii both grades share; only the share of residents to cover differs. */
const PARK_SERVICE_TIERS: readonly RuleTier[] = [
  // GB/T 50563-2010: ≥ 5000 m² parks, 500 m service radius.
  { categories: ['park', 'green_space'], minAreaM2: 5000, maxDistanceM: 500 },
  // GB/T 50563-2010: 2000–5000 m² parks, 300 m service radius.
  { categories: ['park', 'green_space'], minAreaM2: 2000, maxDistanceM: 300 },
];

/**
 * Garden city park service radius: parks ≥ 5000 m² serve 500 m, parks of 2000–5000 m² serve 300 m;
 * target 80 % of residents (90 % for the higher grade).
 */
export const GARDEN_CITY: RuleSet = {
  id: 'garden-city',
  version: '2010.1',
  zh: '园林城市 公园绿地服务半径覆盖率',
  en: 'Garden city: park service radius coverage',
  citation: CITE,
  rules: [
    {
      id: 'park_service_radius',
      zh: '公园绿地服务半径覆盖率 (≥80%)',
      en: 'Park service radius coverage (≥ 80 %)',
      tiers: PARK_SERVICE_TIERS,
      targetShare: 0.8,
      citation: `${CITE} (national garden city: ≥ 80 %)`,
      note: 'The standard measures radius (straight line); we measure walking distance and show the straight-line share beside it.',
    },
    {
      id: 'park_service_radius_high',
      zh: '公园绿地服务半径覆盖率 (≥90%, 生态园林城市)',
      en: 'Park service radius coverage, higher grade (≥ 90 %)',
      tiers: PARK_SERVICE_TIERS,
      targetShare: 0.9,
      citation: `${CITE} (ecological garden city: ≥ 90 %)`,
    },
  ],
};
