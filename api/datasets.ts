/** GET /api/datasets and GET /api/compare: the datasets served side by side, and two runs compared. */

import type { Geometry } from 'geojson';
import type { FromSchema } from 'json-schema-to-ts';
import { COVERAGE_LEVELS } from './enums.ts';
import { errorSchema } from './errors.ts';
import { DEFAULT_RULE_SET, MAX_RULE_SET_ID_CHARS } from './limits.ts';

/**
 * What a dataset name may be (migrations/0260 checks the same): lower-case letters, digits, '.',
 * '_', '-', at most 64 characters, not all digits (an all-digit `from`/`to` of /api/compare is a run id).
 */
export const DATASET_NAME = /^(?![0-9]+$)[a-z0-9][a-z0-9._-]{0,63}$/;

/** The `dataset=` query parameter every route reading a dataset takes (server/app.ts adds it). */
export const datasetParam = {
  type: 'string',
  pattern: DATASET_NAME.source,
  description:
    'the dataset to answer from, by name (GET /api/datasets); default: the default dataset. An unknown name is 404 unknown_dataset',
} as const;

const bbox = {
  type: ['array', 'null'],
  items: { type: 'number' },
  minItems: 4,
  maxItems: 4,
  description: '[west, south, east, north], WGS 84',
} as const;

export const datasetsResponse = {
  type: 'object',
  required: ['datasets'],
  properties: {
    datasets: {
      type: 'array',
      description: 'every dataset name served, the default first',
      items: {
        type: 'object',
        required: ['name', 'is_default', 'dataset_id', 'run_id', 'provenance', 'bbox', 'centre', 'engine'],
        properties: {
          name: { type: 'string' },
          is_default: { type: 'boolean' },
          dataset_id: { type: 'integer', description: 'the vintage served under the name' },
          run_id: {
            type: ['integer', 'null'],
            description: 'its current complete coverage run; null before the first compute',
          },
          other_vintages: {
            type: 'integer',
            description:
              'rows stored under the name besides the served one (a newer import being computed, or the one it replaced)',
          },
          provenance: {
            type: 'object',
            required: ['kind', 'source', 'sha256', 'osm_timestamp', 'imported_at', 'is_sample'],
            properties: {
              kind: { type: 'string', enum: ['osm', 'sample_city'] },
              source: { type: 'string', description: 'the file imported' },
              sha256: { type: 'string' },
              osm_timestamp: {
                type: ['string', 'null'],
                description: "the OSM data's date, when the file carries one",
              },
              imported_at: { type: 'string' },
              is_sample: { type: 'boolean', description: 'generated or sample data (示例), not real' },
            },
          },
          bbox,
          centre: { type: ['array', 'null'], items: { type: 'number' }, minItems: 2, maxItems: 2 },
          engine: {
            type: 'object',
            required: ['state'],
            description: 'its in-memory engine: cold (not loaded, or unloaded by the memory budget), warming, ready',
            properties: {
              state: { type: 'string', enum: ['cold', 'warming', 'ready'] },
              megabytes: { type: ['number', 'null'] },
              last_used_at: { type: ['string', 'null'] },
            },
          },
        },
      },
    },
  },
} as const;
export type DatasetsResponse = FromSchema<typeof datasetsResponse>;

/** A run id (digits) or a dataset name (its current run). */
const runOrDataset = {
  type: 'string',
  pattern: `^([0-9]{1,9}|${DATASET_NAME.source.slice(1, -1)})$`,
  description: 'a coverage run id, or a dataset name (its current complete run)',
} as const;

export const datasetCompareQuery = {
  type: 'object',
  additionalProperties: false,
  required: ['from', 'to'],
  properties: {
    from: runOrDataset,
    to: runOrDataset,
    rule_set: { type: 'string', maxLength: MAX_RULE_SET_ID_CHARS, default: DEFAULT_RULE_SET },
    level: { type: 'string', enum: COVERAGE_LEVELS, default: 'community' },
    format: {
      type: 'string',
      enum: ['json', 'geojson'],
      default: 'json',
      description:
        "geojson: one feature per area present in either run, with its geometry (as the coverage export's), the rows by rule (`rules`), which side it is on (`side`: both, from_only, to_only) and whether each side's population is estimated; the map's compare view draws it",
    },
  },
} as const;
export type DatasetCompareQuery = FromSchema<typeof datasetCompareQuery>;

const side = {
  type: 'object',
  required: ['dataset', 'dataset_id', 'run_id'],
  properties: {
    dataset: { type: 'string' },
    dataset_id: { type: 'integer' },
    run_id: { type: 'integer' },
    finished_at: { type: ['string', 'null'] },
  },
} as const;

const nullableNumber = { type: ['number', 'null'] } as const;

export const datasetCompareResponse = {
  type: 'object',
  required: ['from', 'to', 'rule_set', 'level', 'rows'],
  properties: {
    from: side,
    to: side,
    rule_set: { type: 'string' },
    level: { type: 'string' },
    rows: {
      type: 'array',
      description:
        'one row per area and rule present in either run (matched by area key: imported communities and districts keep theirs across datasets, residential areas and approximate communities do not)',
      items: {
        type: 'object',
        required: [
          'area_key',
          'area_name',
          'rule_id',
          'measure',
          'share_before',
          'share_after',
          'share_change',
          'population_before',
          'population_after',
          'covered_before',
          'covered_after',
          'covered_change',
        ],
        properties: {
          area_key: { type: 'string' },
          area_name: { type: ['string', 'null'] },
          rule_id: { type: 'string' },
          measure: {
            type: 'string',
            enum: ['population', 'residential_land_area'],
            description: 'what population and covered count: residents, or residential land m²',
          },
          share_before: nullableNumber,
          share_after: nullableNumber,
          share_change: { ...nullableNumber, description: 'share_after − share_before; null when either is' },
          population_before: nullableNumber,
          population_after: nullableNumber,
          covered_before: nullableNumber,
          covered_after: nullableNumber,
          covered_change: {
            ...nullableNumber,
            description:
              'covered_after − covered_before: residents gained (positive) or lost (negative) by the area for the rule, net; null when the area is absent from a run',
          },
        },
      },
    },
  },
} as const;
export type DatasetCompareResponse = FromSchema<typeof datasetCompareResponse>;

/** One side of a comparison: the run and the dataset it belongs to. */
export interface CompareRunSide {
  dataset: string;
  dataset_id: number;
  run_id: number;
  finished_at?: string | null;
}

/** Which runs an area of a comparison has results in. */
export type CompareSide = 'both' | 'from_only' | 'to_only';

/** One area of GET /api/compare?format=geojson: its rows by rule, and what the map labels. */
export interface CompareAreaProperties {
  area_key: string;
  area_name: string | null;
  side: CompareSide;
  /** Whether the residents counted on each side are estimated (floor-area estimate), as the coverage export says; null where the area is absent. */
  population_estimated_before: boolean | null;
  population_estimated_after: boolean | null;
  /** An approximate community (no imported boundary), on either side. */
  is_approximate: boolean;
  rules: Record<string, DatasetCompareResponse['rows'][number]>;
}

/** GET /api/compare?format=geojson. */
export interface CompareGeoJson {
  type: 'FeatureCollection';
  properties: {
    from: CompareRunSide;
    to: CompareRunSide;
    rule_set: string;
    level: string;
    attribution: string;
  };
  features: {
    type: 'Feature';
    id: string;
    geometry: Geometry | null;
    properties: CompareAreaProperties;
  }[];
}

export const datasetsResponses = { 200: datasetsResponse } as const;
export const datasetCompareResponses = { 200: datasetCompareResponse, 400: errorSchema, 404: errorSchema } as const;
