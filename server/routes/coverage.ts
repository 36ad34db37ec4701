import type { FastifyInstance, FastifyReply } from 'fastify';
import { JSON_SLICE_ITEMS, jsonSliceStream } from '../http/json-slices.ts';
import {
  auditJson,
  auditQuery,
  coverageJson,
  coverageQuery,
  type AuditQuery,
  type CoverageQuery,
} from '../../api/coverage.ts';
import { errorSchema } from '../../api/errors.ts';
import { DISTANCE_CAP_M } from '../../geo/coverage.ts';
import {
  auditAreas,
  emptyZoneArea,
  flatRuleAttributes,
  notAssessableRules,
  round,
  RULE_PROVENANCE_HEADER,
  ruleLabels,
  ruleProvenanceCells,
} from '../answers/coverage.ts';
import { toCsv } from '../csv.ts';
import { requireRuleSet, requestedDataset } from '../http/request.ts';
import { areaCoverage, areaGeometries, emptyZones, exportProvenance } from '../queries/coverage.ts';

function sendCsv(reply: FastifyReply, filename: string, csv: string) {
  return reply
    .header('content-type', 'text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="${filename}"`)
    .send(csv);
}

function sendGeoJson(reply: FastifyReply, filename: string, body: { features: unknown[] } & Record<string, unknown>) {
  return reply
    .header('content-type', 'application/geo+json; charset=utf-8')
    .header('content-disposition', `attachment; filename="${filename}"`)
    .send(body.features.length > JSON_SLICE_ITEMS ? jsonSliceStream(body, 'features') : JSON.stringify(body));
}

/**
 * A JSON answer with one array of areas: as it is (fastify serialises it with the route's schema)
 * when short, else serialised a slice at a time (`jsonSlices`): a whole city's areas run to
 * tens of megabytes, which in one piece held the event loop for seconds.
 */
function sendAreas<T extends { areas: unknown[] }>(reply: FastifyReply, body: T): T | FastifyReply {
  if (body.areas.length <= JSON_SLICE_ITEMS) return body;
  return reply.type('application/json; charset=utf-8').send(jsonSliceStream(body, 'areas'));
}

/** The place filters of a query that are set, in a stable order (district before street). */
function placeFilters(q: { district?: string; street?: string }): { district?: string; street?: string } {
  return {
    ...(q.district !== undefined ? { district: q.district } : {}),
    ...(q.street !== undefined ? { street: q.street } : {}),
  };
}

/** Whether an area lies in the filtered 区 / 街道 (exact names, as the area carries them). */
function inPlace(
  a: { district: string | null; street: string | null },
  f: { district?: string; street?: string },
): boolean {
  return (f.district === undefined || a.district === f.district) && (f.street === undefined || a.street === f.street);
}

/** GET /api/coverage and GET /api/audit, in JSON, GeoJSON or CSV. */
export async function coverageRoutes(app: FastifyInstance): Promise<void> {
  app.get<{ Querystring: CoverageQuery }>(
    '/api/coverage',
    {
      schema: {
        tags: ['coverage'],
        summary: 'Population-weighted network and straight-line coverage per area and rule',
        querystring: coverageQuery,
        response: {
          200: { anyOf: [coverageJson, { type: 'object', additionalProperties: true }, { type: 'string' }] },
          400: errorSchema,
          503: errorSchema,
        },
      },
    },
    async (req, reply) => {
      const rs = requireRuleSet(req.query.rule_set);
      const { level, format } = req.query;
      const { datasetId, runId } = await app.engine.currentRun(requestedDataset(req));
      const filters = placeFilters(req.query);
      const all = await areaCoverage(app.pg, runId, rs.id, level);
      // not assessable is a city-wide fact (no facility of the category anywhere): judged on every area
      const notAssessable = notAssessableRules(rs, all);
      const rows = all.filter((a) => inPlace(a, filters));
      const filtered = Object.keys(filters).length ? { filters } : {};
      const provenance =
        format === 'json'
          ? null
          : await exportProvenance(app.pg, datasetId, runId, { rule_set: rs.id, level, ...filters });
      if (format === 'csv') {
        const body = rows.flatMap((a) =>
          rs.rules
            .filter((r) => a.rules[r.id])
            .map((r) => {
              const x = a.rules[r.id];
              return [
                level,
                a.area_key,
                a.area_name,
                a.street,
                a.district,
                Math.round(a.population),
                r.id,
                round(x.share),
                round(x.straight_share),
                x.target_share,
                x.no_data ? 'no_data' : x.passes ? 'pass' : 'fail',
                Math.round(x.covered_population),
                round(x.uncovered_mean_m, 1),
                Math.round(x.uncovered_beyond_cap_population),
                Math.round(x.uncovered_unreachable_population),
                (a.population_sources ?? []).join(' ') || (a.population_estimated ? 'estimate' : ''),
                a.is_approximate ? 'approximate' : '',
                ...ruleProvenanceCells(rs, r.id, provenance!),
              ];
            }),
        );
        return sendCsv(
          reply,
          `coverage-${rs.id}-${level}.csv`,
          toCsv(
            [
              'level',
              'area_key',
              'area_name',
              'street',
              'district',
              'population',
              'rule_id',
              'network_share',
              'straight_share',
              'target_share',
              'result',
              'covered_population',
              'uncovered_mean_distance_m',
              'uncovered_beyond_cap',
              'uncovered_no_path',
              'population_source',
              'zone',
              ...RULE_PROVENANCE_HEADER,
            ],
            body,
          ),
        );
      }
      if (format === 'geojson') {
        const geoms = await areaGeometries(
          app.pg,
          level,
          rows.map((r) => r.area_key),
        );
        return sendGeoJson(reply, `coverage-${rs.id}-${level}.geojson`, {
          type: 'FeatureCollection',
          properties: {
            rule_set: rs.id,
            level,
            ...filtered,
            run_id: runId,
            dataset_id: datasetId,
            distance_cap_m: DISTANCE_CAP_M,
            not_assessable: notAssessable,
            attribution: '© OpenStreetMap contributors',
            provenance,
            rules: ruleLabels(rs),
          },
          features: rows.map((a) => ({
            type: 'Feature',
            id: a.area_key,
            geometry: geoms.get(a.area_key) ?? null,
            properties: { ...a, ...flatRuleAttributes(rs, a.rules) },
          })),
        });
      }
      return sendAreas(reply, {
        rule_set: rs.id,
        level,
        ...filtered,
        run_id: runId,
        dataset_id: datasetId,
        distance_cap_m: DISTANCE_CAP_M,
        not_assessable: notAssessable,
        areas: rows,
      });
    },
  );

  app.get<{ Querystring: AuditQuery }>(
    '/api/audit',
    {
      schema: {
        tags: ['coverage'],
        summary: 'Areas that miss any target, worst first, with the evidence and data caveats',
        querystring: auditQuery,
        response: {
          200: { anyOf: [auditJson, { type: 'object', additionalProperties: true }, { type: 'string' }] },
          400: errorSchema,
          503: errorSchema,
        },
      },
    },
    async (req, reply) => {
      const rs = requireRuleSet(req.query.rule_set);
      const { level, format } = req.query;
      const engine = await app.engine.current(requestedDataset(req));
      const filters = placeFilters(req.query);
      const all = await areaCoverage(app.pg, engine.runId, rs.id, level);
      const rows = all.filter((a) => inPlace(a, filters));
      const filtered = Object.keys(filters).length ? { filters } : {};
      const sampleCategories = new Set(engine.net.facilities.filter((f) => f.isSample).map((f) => f.category));
      const sampleRules = new Set(
        rs.rules.filter((r) => r.tiers.some((t) => t.categories.some((c) => sampleCategories.has(c)))).map((r) => r.id),
      );
      const areas = auditAreas(rows, sampleRules);
      // every named zone is listed: those no resident lives in with 0 and a caveat
      if (level === 'community')
        areas.push(...(await emptyZones(app.pg, engine.runId)).map(emptyZoneArea).filter((a) => inPlace(a, filters)));
      const notAssessable = notAssessableRules(rs, all);
      const provenance =
        format === 'json'
          ? null
          : await exportProvenance(app.pg, engine.datasetId, engine.runId, { rule_set: rs.id, level, ...filters });
      if (format === 'csv') {
        const body = areas.flatMap((a) =>
          !a.failed_rules.length
            ? [
                [
                  a.area_key,
                  a.area_name,
                  a.street,
                  a.district,
                  a.population,
                  '',
                  '',
                  null,
                  null,
                  null,
                  0,
                  null,
                  '',
                  '',
                  a.caveats.join(' '),
                  ...ruleProvenanceCells(rs, '', provenance!),
                ],
              ]
            : a.failed_rules.map((f) => [
                a.area_key,
                a.area_name,
                a.street,
                a.district,
                a.population,
                f.rule_id,
                'fail',
                f.share,
                f.straight_share,
                f.target_share,
                f.residents_not_covered,
                f.uncovered_mean_m,
                f.uncovered_beyond_cap_population,
                f.uncovered_unreachable_population,
                [...a.caveats.filter((c) => c !== 'edge_of_data'), ...(f.edge_of_data ? ['edge_of_data'] : [])].join(
                  ' ',
                ),
                ...ruleProvenanceCells(rs, f.rule_id, provenance!),
              ]),
        );
        // not assessable rules: one row each, with no area
        for (const n of notAssessable)
          body.push([
            '',
            '',
            '',
            '',
            '',
            n.rule_id,
            'no_data',
            null,
            null,
            null,
            '',
            null,
            '',
            '',
            n.message,
            ...ruleProvenanceCells(rs, n.rule_id, provenance!),
          ]);
        return sendCsv(
          reply,
          `audit-${rs.id}-${level}.csv`,
          toCsv(
            [
              'area_key',
              'area_name',
              'street',
              'district',
              'population',
              'rule_id',
              'result',
              'network_share',
              'straight_share',
              'target_share',
              'residents_not_covered',
              'uncovered_mean_distance_m',
              'uncovered_beyond_cap',
              'uncovered_no_path',
              'caveats',
              ...RULE_PROVENANCE_HEADER,
            ],
            body,
          ),
        );
      }
      if (format === 'geojson') {
        const geoms = await areaGeometries(
          app.pg,
          level,
          areas.map((a) => a.area_key),
        );
        return sendGeoJson(reply, `audit-${rs.id}-${level}.geojson`, {
          type: 'FeatureCollection',
          properties: {
            rule_set: rs.id,
            level,
            ...filtered,
            run_id: engine.runId,
            distance_cap_m: DISTANCE_CAP_M,
            not_assessable: notAssessable,
            attribution: '© OpenStreetMap contributors',
            provenance,
            rules: ruleLabels(rs),
          },
          features: areas.map((a) => ({
            type: 'Feature',
            id: a.area_key,
            geometry: geoms.get(a.area_key) ?? null,
            properties: {
              ...a,
              failing_rules: a.failed_rules.map((f) => f.rule_id).join(','),
              failing_count: a.failed_rules.length,
              ...Object.fromEntries(
                a.failed_rules.flatMap((f) => [
                  [`${f.rule_id}_share`, f.share],
                  [`${f.rule_id}_target`, f.target_share],
                  [`${f.rule_id}_result`, 'fail'],
                ]),
              ),
            },
          })),
        });
      }
      return sendAreas(reply, {
        rule_set: rs.id,
        level,
        ...filtered,
        run_id: engine.runId,
        dataset_id: engine.datasetId,
        distance_cap_m: DISTANCE_CAP_M,
        not_assessable: notAssessable,
        areas,
      });
    },
  );
}
