import { GraphQLError, type GraphQLFormattedError } from 'graphql';

/**
 * Every stable error code clients may rely on (extensions.code), with the HTTP status it takes when
 * it refuses a whole request. An error at one field of an answer that otherwise arrives is a
 * GraphQL field error: the response is 200 with data and errors side by side (see fieldError).
 */
export const ERROR_STATUS = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  BAD_USER_INPUT: 400,
  BAD_REQUEST: 400,
  SLOT_UNAVAILABLE: 409,
  IDEMPOTENCY_KEY_REUSED: 409,
  UNAUTHORIZED_FIELD_OR_TYPE: 403,
  PERSISTED_QUERY_NOT_FOUND: 200,
  PERSISTED_QUERY_NOT_IN_LIST: 400,
  PERSISTED_QUERY_ID_REQUIRED: 400,
  PERSISTED_QUERY_HASH_MISMATCH: 400,
  PERSISTED_QUERY_NOT_SUPPORTED: 400,
  COST_ESTIMATED_TOO_EXPENSIVE: 400,
  OPERATION_RESOLUTION_FAILURE: 400,
  GRAPHQL_PARSE_FAILED: 400,
  GRAPHQL_VALIDATION_FAILED: 400,
  MAX_DEPTH_EXCEEDED: 400,
  MAX_ALIASES_EXCEEDED: 400,
  MAX_ROOT_FIELDS_EXCEEDED: 400,
  MAX_DIRECTIVES_EXCEEDED: 400,
  MAX_FIELDS_EXCEEDED: 400,
  MAX_TOKENS_EXCEEDED: 400,
  BATCH_LIMIT_EXCEEDED: 400,
  PAYLOAD_TOO_LARGE: 413,
  HEADERS_TOO_LARGE: 431,
  UNSUPPORTED_MEDIA_TYPE: 415,
  REQUEST_TIMEOUT: 408,
  METHOD_NOT_ALLOWED: 405,
  ORIGIN_NOT_ALLOWED: 403,
  RATE_LIMITED: 429,
  SUBGRAPH_UNAVAILABLE: 503,
  SERVICE_UNAVAILABLE: 503,
  AUDIT_UNAVAILABLE: 503,
  OVERLOADED: 503,
  INTERNAL_SERVER_ERROR: 500,
} as const;
export type ErrorCode = keyof typeof ERROR_STATUS;

/** The codes by name, for comparisons (`ErrorCode.NOT_FOUND`). */
export const ErrorCode = Object.fromEntries(Object.keys(ERROR_STATUS).map((code) => [code, code])) as { readonly [C in ErrorCode]: C };

/** Whether a value is one of the codes above. */
export const isErrorCode = (code: unknown): code is ErrorCode => typeof code === 'string' && code in ERROR_STATUS;

/** An error that refuses the whole request: the status comes from the table. */
export function requestError(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extensions, http: { status: ERROR_STATUS[code] } } });
}

/** A refusal that tells the caller when to come back (RFC 9110 Retry-After): OVERLOADED, RATE_LIMITED. */
export type RetryLaterError = GraphQLError & { extensions: { retryAfter: number } };

/**
 * Refuses the whole request for now: the status from the table, `Retry-After` in seconds on the
 * HTTP answer and `extensions.retryAfter` in its body, for clients that read only one of them.
 */
export function retryLater(code: ErrorCode, message: string, retryAfterSeconds: number, extensions: Record<string, unknown> = {}) {
  const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
  return new GraphQLError(message, {
    extensions: {
      code,
      ...extensions,
      retryAfter: seconds,
      http: { status: ERROR_STATUS[code], headers: { 'retry-after': String(seconds) } },
    },
  }) as RetryLaterError;
}

/** An error at one field of an answer whose other fields still arrive (HTTP 200). */
export function fieldError(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extensions, http: { status: 200 } } });
}

/** The caller did not prove who it is (missing, expired or forged token). */
export const unauthenticated = (detail = 'a valid bearer token is required') =>
  requestError('UNAUTHENTICATED', `Unauthenticated: ${detail}`);

/** The caller is known but its role, purpose or relationship does not allow this. */
export const forbidden = (reason: string) => fieldError('FORBIDDEN', `Forbidden: ${reason}`);

/** No such record, or none the caller may see: the two are indistinguishable on purpose. */
export const notFound = (type: string, id: string) => fieldError('NOT_FOUND', `${type} "${id}" was not found`, { type, id });

/** An argument broke the contract; names the argument, never echoes PHI beyond what the caller sent. */
export const badUserInput = (argument: string, detail: string) =>
  fieldError('BAD_USER_INPUT', `Invalid argument "${argument}": ${detail}`, { argumentName: argument });

export const slotUnavailable = (providerId: string, start: string) =>
  fieldError('SLOT_UNAVAILABLE', `The slot at ${start} with provider "${providerId}" is not available`, { providerId, start });

export const idempotencyKeyReused = () =>
  fieldError('IDEMPOTENCY_KEY_REUSED', 'This idempotency key was already used for a different booking');

/**
 * Masks anything that is not one of our coded errors: Prisma and driver messages can carry query
 * values, which here are PHI.
 */
export function maskError(formatted: GraphQLFormattedError): GraphQLFormattedError {
  const code = formatted.extensions?.code;
  if (isErrorCode(code) && code !== 'INTERNAL_SERVER_ERROR') return formatted;
  return {
    message: 'Internal server error',
    path: formatted.path,
    locations: formatted.locations,
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
  };
}
