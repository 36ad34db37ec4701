/** The catalogue of API error codes: HTTP status and a stable code clients can switch on. */
export const ERRORS = {
  bad_request: 400,
  invalid_parameter: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  /** dataset= names no network dataset (GET /api/datasets lists them) */
  unknown_dataset: 404,
  request_timeout: 408,
  precondition_failed: 412,
  payload_too_large: 413,
  headers_too_large: 431,
  outside_dataset: 422,
  not_snappable: 422,
  unknown_category: 400,
  unknown_rule_set: 400,
  /** a rule set file that fails its JSON Schema; details.problems name each JSON path */
  invalid_rule_set: 422,
  /** a write that contradicts what is stored (a built-in rule set id, a reused version) */
  conflict: 409,
  unknown_rule: 400,
  no_dataset: 503,
  no_results: 503,
  database_unavailable: 503,
  rate_limited: 429,
  /** a heavy request would cost more work units than its route's budget (server/plugins/heavy-pool.ts) */
  work_budget_exceeded: 422,
  /** a heavy request ran past the time limit and its work was stopped */
  work_timed_out: 503,
  /** the heavy-work queue is full */
  server_busy: 503,
  /** the client already has its allowance of heavy requests in flight */
  too_many_heavy_requests: 429,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof ERRORS;

/** Every error code, in catalogue order: the enum of the error body's `code`. */
export const ERROR_CODES = Object.keys(ERRORS) as ErrorCode[];

/**
 * JSON Schema of the error body, shared by every route's response schemas. `code` is an enum of
 * the catalogue, so an answer with a code the document does not list fails the contract test.
 */
export const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', enum: ERROR_CODES as unknown as readonly ErrorCode[] },
        message: { type: 'string' },
        details: { type: 'object', additionalProperties: true },
      },
    },
  },
} as const;
