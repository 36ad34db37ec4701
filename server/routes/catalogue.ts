import type { FastifyInstance } from 'fastify';
import { CATEGORIES, TAG_CATEGORY_TABLE } from '../../geo/categories.ts';
import { isBuiltInRuleSet, RULE_SETS, ruleMeasure, rulePopulationGroup } from '../../geo/rules/index.ts';
import { categoriesResponse, rulesResponse } from '../../api/catalogue.ts';
import { activeDataset, defaultDatasetName } from '../queries/datasets.ts';
import { requestedDataset } from '../http/request.ts';

/** GET /api/categories and GET /api/rules: what is measured, and against which standards. */
export async function catalogueRoutes(app: FastifyInstance): Promise<void> {
  app.get(
    '/api/categories',
    {
      schema: {
        tags: ['catalogue'],
        summary: 'Facility categories with labels and counts',
        response: { 200: categoriesResponse },
      },
    },
    async (req) => {
      // a named dataset: the row answering for the name (dataset_run()), as every other route
      const name = requestedDataset(req);
      const ds =
        name === undefined
          ? await defaultDatasetName(app.pg).then((d) => (d === null ? null : activeDataset(app.pg, d)))
          : await activeDataset(app.pg, undefined, (await app.engine.resolve(name)).datasetId ?? -1);
      return {
        categories: CATEGORIES.map((c) => ({
          ...c,
          count: ds?.counts.facilities[c.id] ?? 0,
          osm_tags: TAG_CATEGORY_TABLE.filter((r) => r.category === c.id).map(
            (r) => `${r.key}=${r.values === '*' ? '*' : r.values.join('|')}`,
          ),
        })),
      };
    },
  );
  app.get(
    '/api/rules',
    {
      schema: {
        tags: ['catalogue'],
        summary: 'Rule sets with their numbers and citations',
        response: { 200: rulesResponse },
      },
    },
    async () => ({
      rule_sets: RULE_SETS.map((rs) => ({
        id: rs.id,
        version: rs.version,
        zh: rs.zh,
        en: rs.en,
        citation: rs.citation,
        note: rs.note ?? null,
        built_in: isBuiltInRuleSet(rs.id),
        rules: rs.rules.map((r) => ({
          id: r.id,
          zh: r.zh,
          en: r.en,
          tiers: r.tiers.map((t) => ({
            categories: [...t.categories],
            min_area_m2: t.minAreaM2 ?? null,
            max_area_m2: t.maxAreaM2 ?? null,
            max_distance_m: t.maxDistanceM,
            citation: t.citation ?? null,
          })),
          target_share: r.targetShare,
          measure: ruleMeasure(r),
          population_group: rulePopulationGroup(r),
          citation: r.citation,
          note: r.note ?? null,
          judges: r.judges ?? null,
        })),
      })),
    }),
  );
}
