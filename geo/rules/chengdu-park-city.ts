import type { RuleSet } from './types.ts';

/**
 * Chengdu park city (公园城市): "300 m to green, 500 m to park" (300米见绿、500米见园), elderly care
 * near home, community service centres and greenways within a walk.
 */
export const CHENGDU_PARK_CITY: RuleSet = {
  id: 'chengdu-park-city',
  version: '2026.11',
  zh: '成都公园城市 300米见绿、500米见园',
  en: 'Chengdu park city: 300 m to green, 500 m to park',
  citation:
    '成都公园城市建设目标 "300米见绿、500米见园" (Chengdu park-city programme; reviewers should pin the exact plan edition); ' +
    '成都中心城区社区养老服务设施布局规划 (community elderly-care service radius 500–600 m)',
  rules: [
    {
      id: 'green_300',
      zh: '300米见绿',
      en: 'Green space within 300 m',
      // 300 m: Chengdu's "300米见绿".
      tiers: [{ categories: ['green_space', 'park'], minAreaM2: 400, maxDistanceM: 300 }],
      targetShare: 0.9,
      citation: '成都公园城市 "300米见绿" (Chengdu park-city programme)',
      note: 'The 400 m² minimum green-space size and the 90 % pass mark are local choices; the slogan itself sets only the distance.',
    },
    {
      id: 'park_500',
      zh: '500米见园',
      en: 'Park within 500 m',
      // 500 m: Chengdu's "500米见园".
      tiers: [{ categories: ['park'], maxDistanceM: 500 }],
      targetShare: 0.9,
      citation: '成都公园城市 "500米见园" (Chengdu park-city programme)',
      note: 'Any mapped park (leisure=park) counts; the 90 % pass mark is a local choice.',
    },
    {
      id: 'elderly_care_500',
      zh: '500米内社区养老服务设施',
      en: 'Community elderly care within 500 m',
      // 500 m: lower bound of the 500–600 m service radius in Chengdu's central-district plan.
      tiers: [{ categories: ['elderly_care'], maxDistanceM: 500 }],
      targetShare: 0.9,
      citation: '成都中心城区社区养老服务设施布局规划: service radius 500–600 m',
      note: 'Uses the stricter 500 m end of the 500–600 m range; 90 % pass mark is a local choice.',
    },
    {
      id: 'community_service_1000',
      zh: '15分钟步行可达社区综合服务中心',
      en: 'Community service centre within a 15-minute walk (1000 m)',
      // GB 50180-2018 3.0.4: 15-minute life circle, walking distance 800–1000 m.
      tiers: [{ categories: ['community_service'], maxDistanceM: 1000 }],
      targetShare: 0.9,
      citation: 'GB 50180-2018 §3.0.4 (15-minute life circle: 800–1000 m)',
      note: '1000 m is the upper end of the 15-minute range; 90 % pass mark is a local choice.',
    },
    {
      id: 'greenway_1000',
      zh: '15分钟步行可达绿道',
      en: 'Greenway within a 15-minute walk (1000 m)',
      tiers: [{ categories: ['greenway'], maxDistanceM: 1000 }],
      targetShare: 0.8,
      citation: '成都天府绿道 (Tianfu greenway network); distance from GB 50180-2018 §3.0.4 (15-minute walk)',
      note: 'Distance taken as the 15-minute walk of GB 50180-2018 (1000 m); the 80 % pass mark is a local choice. OSM Chengdu 2018 maps no greenways.',
    },
  ],
};
