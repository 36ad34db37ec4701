import type { FastifyInstance } from 'fastify';
import {
  datasetCompareQuery,
  datasetCompareResponses,
  datasetsResponses,
  type CompareGeoJson,
  type DatasetCompareQuery,
} from '../../api/datasets.ts';
import { compareAreaFigures, compareAreas } from '../answers/compare.ts';
import { areaCoverage, areaGeometries } from '../queries/coverage.ts';
import { ApiError, errorSchema } from '../errors.ts';
import { requireRuleSet } from '../http/request.ts';
import { areaRuleFigures, listDatasets, runRef } from '../queries/datasets.ts';

/** GET /api/datasets (the datasets served side by side) and GET /api/compare (two runs, per area and rule). */
export async function datasetRoutes(app: FastifyInstance): Promise<void> {
  app.get(
    '/api/datasets',
    {
      schema: {
        tags: ['service'],
        summary: 'Datasets served side by side: name, default, provenance, current run, extent, engine state',
        response: datasetsResponses,
      },
    },
    async () => {
      const engines = new Map(app.engine.loaded().map((e) => [e.name, e]));
      return {
        datasets: (await listDatasets(app.pg)).map((d) => {
          const engine = engines.get(d.name);
          return {
            name: d.name,
            is_default: d.is_default,
            dataset_id: d.dataset_id,
            run_id: d.run_id,
            other_vintages: d.other_vintages,
            provenance: {
              kind: d.kind,
              source: d.source,
              sha256: d.sha256,
              osm_timestamp: d.osm_timestamp,
              imported_at: d.imported_at,
              is_sample: d.is_sample,
            },
            bbox: d.bbox,
            centre: d.centre,
            engine: {
              state: engine?.state ?? 'cold',
              megabytes: engine?.megabytes ?? null,
              last_used_at: engine?.last_used_at ?? null,
            },
          };
        }),
      };
    },
  );

  app.get<{ Querystring: DatasetCompareQuery }>(
    '/api/compare',
    {
      schema: {
        tags: ['coverage'],
        summary:
          'Two coverage runs (two datasets, two vintages, or before/after an import): per area and rule, the share before and after and the residents gained or lost',
        querystring: datasetCompareQuery,
        response: { ...datasetCompareResponses, 503: errorSchema },
      },
    },
    async (req, reply) => {
      const rs = requireRuleSet(req.query.rule_set);
      const level = req.query.level;
      const [from, to] = await Promise.all([runRef(app.pg, req.query.from), runRef(app.pg, req.query.to)]);
      for (const [param, ref] of [
        ['from', from],
        ['to', to],
      ] as const) {
        if (ref) continue;
        const value = req.query[param];
        if (/^[0-9]+$/.test(value)) throw new ApiError('not_found', `${param}: no complete coverage run ${value}`);
        // a name: unknown (404 unknown_dataset) or not computed yet (503 no_results)
        await app.engine.currentRun(value);
        throw new ApiError('not_found', `${param}: no complete coverage run for dataset ${JSON.stringify(value)}`);
      }
      const [before, after] = await Promise.all([
        areaRuleFigures(app.pg, from!.run_id, rs.id, level),
        areaRuleFigures(app.pg, to!.run_id, rs.id, level),
      ]);
      const rows = compareAreaFigures(before, after);
      if (req.query.format !== 'geojson') return { from: from!, to: to!, rule_set: rs.id, level, rows };
      // the map's compare view: the coverage export's geometries and population caveats, per area
      const [geoms, coverageBefore, coverageAfter] = await Promise.all([
        areaGeometries(app.pg, level, [...new Set(rows.map((r) => r.area_key))]),
        areaCoverage(app.pg, from!.run_id, rs.id, level),
        areaCoverage(app.pg, to!.run_id, rs.id, level),
      ]);
      const body: CompareGeoJson = {
        type: 'FeatureCollection',
        properties: { from: from!, to: to!, rule_set: rs.id, level, attribution: '© OpenStreetMap contributors' },
        features: compareAreas(rows, coverageBefore, coverageAfter).map((a) => ({
          type: 'Feature',
          id: a.area_key,
          geometry: (geoms.get(a.area_key) ?? null) as CompareGeoJson['features'][number]['geometry'],
          properties: a,
        })),
      };
      return reply
        .header('content-type', 'application/geo+json; charset=utf-8')
        .header(
          'content-disposition',
          `attachment; filename="compare-${from!.run_id}-${to!.run_id}-${rs.id}-${level}.geojson"`,
        )
        .send(JSON.stringify(body));
    },
  );
}
