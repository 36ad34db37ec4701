import type { RuleSet } from './types.ts';

const CITE = 'GB 50180-2018 城市居住区规划设计标准';

/**
 * GB 50180-2018: the 5-, 10- and 15-minute life circles (§3.0.4: 300 m, 500 m, 800–1000 m) with the
 * facilities each level requires (appendix B, table B.0.1–B.0.3) and residential-park minimum sizes
 * (table 4.0.7: 0.4 / 1 / 5 hm²).
 */
export const GB50180_2018: RuleSet = {
  id: 'gb50180-2018',
  version: '2018.1',
  zh: 'GB 50180-2018 生活圈',
  en: 'GB 50180-2018 life circles',
  citation: `${CITE}, §3.0.4, table 4.0.7, appendix B`,
  rules: [
    {
      id: 'min5_community_service',
      zh: '5分钟生活圈·社区服务站 (300 m)',
      en: '5-min: community service station (300 m)',
      tiers: [{ categories: ['community_service'], maxDistanceM: 300 }],
      targetShare: 0.9,
      citation: `${CITE} §3.0.4 (5-minute, 300 m); table B.0.3 社区服务站`,
      note: '90 % pass mark is a local choice (the standard requires provision, not a share).',
    },
    {
      id: 'min5_kindergarten',
      zh: '5分钟生活圈·幼儿园 (300 m)',
      en: '5-min: kindergarten (300 m)',
      tiers: [{ categories: ['kindergarten'], maxDistanceM: 300 }],
      targetShare: 0.9,
      citation: `${CITE} §3.0.4; table B.0.3 幼儿园`,
      note: '90 % pass mark is a local choice.',
    },
    {
      id: 'min5_elderly_day_care',
      zh: '5分钟生活圈·老年人日间照料中心 (300 m)',
      en: '5-min: day-care centre for the elderly (300 m)',
      tiers: [{ categories: ['elderly_care'], maxDistanceM: 300 }],
      targetShare: 0.9,
      citation: `${CITE} §3.0.4; table B.0.3 老年人日间照料中心`,
      note: 'Any elderly-care facility counts as day care (registers rarely distinguish); 90 % pass mark is a local choice.',
    },
    {
      id: 'min5_fitness',
      zh: '5分钟生活圈·室外综合健身场地 (300 m)',
      en: '5-min: outdoor fitness ground (300 m)',
      tiers: [{ categories: ['sports', 'park'], maxDistanceM: 300 }],
      targetShare: 0.9,
      citation: `${CITE} §3.0.4; table B.0.3 室外综合健身场地`,
      note: 'Parks count as outdoor fitness grounds (they usually hold one); 90 % pass mark is a local choice.',
    },
    {
      id: 'min5_park_0_4ha',
      judges: 'park',
      zh: '5分钟生活圈·居住区公园 ≥0.4 hm² (300 m)',
      en: '5-min: residential park ≥ 0.4 hm² (300 m)',
      // GB 50180-2018 table 4.0.7: 5-minute residential park minimum 0.4 hm².
      tiers: [{ categories: ['park', 'green_space'], minAreaM2: 4000, maxDistanceM: 300 }],
      targetShare: 0.9,
      citation: `${CITE} table 4.0.7 (5-minute: ≥ 0.4 hm²)`,
      note: '90 % pass mark is a local choice.',
    },
    {
      id: 'min10_primary_school',
      zh: '10分钟生活圈·小学 (500 m)',
      en: '10-min: primary school (500 m)',
      tiers: [{ categories: ['primary_school'], maxDistanceM: 500 }],
      targetShare: 0.9,
      citation: `${CITE} §3.0.4 (10-minute, 500 m); table B.0.2 小学`,
      note: '90 % pass mark is a local choice.',
    },
    {
      id: 'min10_market',
      zh: '10分钟生活圈·菜市场 (500 m)',
      en: '10-min: market (500 m)',
      tiers: [{ categories: ['market'], maxDistanceM: 500 }],
      targetShare: 0.9,
      citation: `${CITE} §3.0.4; table B.0.2 菜市场或生鲜超市`,
      note: '90 % pass mark is a local choice.',
    },
    {
      id: 'min10_sports',
      zh: '10分钟生活圈·中型多功能运动场地 (500 m)',
      en: '10-min: mid-size sports ground (500 m)',
      tiers: [{ categories: ['sports'], maxDistanceM: 500 }],
      targetShare: 0.9,
      citation: `${CITE} §3.0.4; table B.0.2 中型多功能运动场地`,
      note: 'Any mapped sports facility counts (OSM does not record ground size); 90 % pass mark is a local choice.',
    },
    {
      id: 'min10_park_1ha',
      judges: 'park',
      zh: '10分钟生活圈·居住区公园 ≥1 hm² (500 m)',
      en: '10-min: residential park ≥ 1 hm² (500 m)',
      // GB 50180-2018 table 4.0.7: 10-minute residential park minimum 1 hm².
      tiers: [{ categories: ['park', 'green_space'], minAreaM2: 10000, maxDistanceM: 500 }],
      targetShare: 0.9,
      citation: `${CITE} table 4.0.7 (10-minute: ≥ 1 hm²)`,
      note: '90 % pass mark is a local choice.',
    },
    {
      id: 'min15_health',
      zh: '15分钟生活圈·社区卫生服务中心 (1000 m)',
      en: '15-min: community health service centre (1000 m)',
      // GB 50180-2018 3.0.4: 15-minute life circle 800–1000 m; 1000 m used.
      tiers: [{ categories: ['health'], maxDistanceM: 1000 }],
      targetShare: 0.9,
      citation: `${CITE} §3.0.4 (15-minute, 800–1000 m); table B.0.1 社区卫生服务中心`,
      note: 'Upper end of 800–1000 m; any clinic or hospital counts; 90 % pass mark is a local choice.',
    },
    {
      id: 'min15_middle_school',
      zh: '15分钟生活圈·初中 (1000 m)',
      en: '15-min: middle school (1000 m)',
      tiers: [{ categories: ['middle_school'], maxDistanceM: 1000 }],
      targetShare: 0.9,
      citation: `${CITE} §3.0.4; table B.0.1 初中`,
      note: '90 % pass mark is a local choice.',
    },
    {
      id: 'min15_sports',
      zh: '15分钟生活圈·大型多功能运动场地 (1000 m)',
      en: '15-min: large sports ground (1000 m)',
      tiers: [{ categories: ['sports'], maxDistanceM: 1000 }],
      targetShare: 0.9,
      citation: `${CITE} §3.0.4; table B.0.1 大型多功能运动场地`,
      note: 'Any mapped sports facility counts; 90 % pass mark is a local choice.',
    },
    {
      id: 'min15_park_5ha',
      judges: 'park',
      zh: '15分钟生活圈·居住区公园 ≥5 hm² (1000 m)',
      en: '15-min: residential park ≥ 5 hm² (1000 m)',
      // GB 50180-2018 table 4.0.7: 15-minute residential park minimum 5 hm².
      tiers: [{ categories: ['park', 'green_space'], minAreaM2: 50000, maxDistanceM: 1000 }],
      targetShare: 0.9,
      citation: `${CITE} table 4.0.7 (15-minute: ≥ 5 hm²)`,
      note: '90 % pass mark is a local choice.',
    },
  ],
};
