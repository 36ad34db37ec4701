/** /api/plans: 两拆一增 plans, read by anyone, written with a planner or admin token. */

import type { LineString, MultiPolygon, Polygon } from 'geojson';
import type { FromSchema } from 'json-schema-to-ts';
import { planGeometrySchema, textSchema, type Override } from './common.ts';
import { PLAN_KINDS, PLAN_STATUSES } from './enums.ts';
import { MAX_NAME_CHARS, MAX_NOTES_CHARS, PLANS_PAGE_DEFAULT, PLANS_PAGE_MAX } from './limits.ts';

const nameSchema = textSchema(1, MAX_NAME_CHARS);
const notesSchema = { ...textSchema(0, MAX_NOTES_CHARS), type: ['string', 'null'] } as const;

export const planBody = {
  type: 'object',
  required: ['kind', 'name', 'geometry'],
  additionalProperties: false,
  properties: {
    kind: { type: 'string', enum: PLAN_KINDS },
    name: nameSchema,
    status: { type: 'string', enum: PLAN_STATUSES, default: 'proposed' },
    geometry: planGeometrySchema,
    notes: notesSchema,
  },
} as const;

export const planPatch = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    kind: { type: 'string', enum: PLAN_KINDS },
    name: nameSchema,
    status: { type: 'string', enum: PLAN_STATUSES },
    geometry: planGeometrySchema,
    notes: notesSchema,
  },
} as const;

export const planSchema = {
  type: 'object',
  required: [
    'id',
    'kind',
    'name',
    'status',
    'version',
    'notes',
    'area_m2',
    'length_m',
    'created_by',
    'created_at',
    'updated_at',
  ],
  properties: {
    id: { type: 'integer' },
    version: { type: 'integer', description: 'starts at 1, +1 on every change; the ETag is "<version>"' },
    kind: { type: 'string', enum: PLAN_KINDS },
    name: { type: 'string' },
    status: { type: 'string', enum: PLAN_STATUSES },
    geometry: { type: 'object', additionalProperties: true, description: 'in the list only with include=geometry' },
    notes: { type: ['string', 'null'] },
    area_m2: { type: ['number', 'null'] },
    length_m: { type: ['number', 'null'] },
    created_by: { type: ['string', 'null'] },
    created_at: { type: 'string' },
    updated_at: { type: 'string' },
  },
} as const;

export const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: PLANS_PAGE_MAX, default: PLANS_PAGE_DEFAULT },
    cursor: {
      type: 'integer',
      minimum: 0,
      maximum: 2147483647,
      default: 0,
      description: 'next_cursor of the previous page; plans with a larger id follow',
    },
    include: {
      type: 'string',
      enum: ['geometry'],
      description: "geometry: add each plan's GeoJSON geometry (left out by default to keep the list light)",
    },
  },
} as const;

export const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'integer', minimum: 1, maximum: 2147483647 } },
} as const;
export const ifMatchHeaders = {
  type: 'object',
  properties: {
    'if-match': {
      type: 'string',
      maxLength: 200,
      description: 'the ETag of the version this change is based on; optional, * matches any',
    },
  },
} as const;

/** One page of GET /api/plans; next_cursor is null on the last page. */
export const planPageSchema = {
  type: 'object',
  required: ['plans', 'next_cursor'],
  properties: { plans: { type: 'array', items: planSchema }, next_cursor: { type: ['integer', 'null'] } },
} as const;

/** A plan geometry as GeoJSON: the schema checks its type and size, the server its shape (server/check-plan-geometry.ts). */
export type PlanGeometry = Polygon | MultiPolygon | LineString;

/** A plan as the API answers it with its geometry (GET /api/plans/:id, include=geometry). */
export type Plan = Override<FromSchema<typeof planSchema>, { geometry: PlanGeometry }>;
/** One page of GET /api/plans?include=geometry. */
export type PlanPage = { plans: Plan[]; next_cursor: number | null };

/** The body of POST /api/plans as a client sends it (status may be left out) and the handler sees it. */
export type PlanInput = Override<
  FromSchema<typeof planBody, { keepDefaultedPropertiesOptional: true }>,
  { geometry: PlanGeometry }
>;
export type PlanPatch = FromSchema<typeof planPatch>;
export type PlanListQuery = FromSchema<typeof listQuery>;
export type PlanIdParams = FromSchema<typeof idParams>;

/** GET /api/token: who the presented bearer token is. */
export const tokenResponse = {
  type: 'object',
  required: ['name', 'role', 'can_write_plans'],
  properties: { name: { type: 'string' }, role: { type: 'string' }, can_write_plans: { type: 'boolean' } },
} as const;
