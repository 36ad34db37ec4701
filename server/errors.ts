import { ERRORS, type ErrorCode } from '../api/errors.ts';

// The catalogue and the error body's schema are part of the API contract (api/errors.ts).
export { ERRORS, errorSchema, type ErrorCode } from '../api/errors.ts';

/** An error the API answers with `{"error": {"code", "message"}}` and the code's status. */
export class ApiError extends Error {
  readonly statusCode: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.statusCode = ERRORS[code];
  }
}
