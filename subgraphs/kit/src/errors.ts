import { GraphQLError } from 'graphql';

/** Stable error codes clients may rely on (extensions.code). */
export const ErrorCode = {
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  SLOT_UNAVAILABLE: 'SLOT_UNAVAILABLE',
  IDEMPOTENCY_KEY_REUSED: 'IDEMPOTENCY_KEY_REUSED',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

function error(code: ErrorCode, status: number, message: string, extra: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extra, http: { status } } });
}

/** The caller did not prove who it is (missing, expired or forged token). */
export const unauthenticated = (detail = 'a valid bearer token is required') => error(ErrorCode.UNAUTHENTICATED, 401, `Unauthenticated: ${detail}`);

/** The caller is known but its role, purpose or relationship does not allow this. */
export const forbidden = (reason: string) => error(ErrorCode.FORBIDDEN, 200, `Forbidden: ${reason}`);

/** No such record, or none the caller may see: the two are indistinguishable on purpose. */
export const notFound = (type: string, id: string) => error(ErrorCode.NOT_FOUND, 200, `${type} "${id}" was not found`, { type, id });

/** An argument broke the contract; names the argument, never echoes PHI beyond what the caller sent. */
export const badUserInput = (argument: string, detail: string) =>
  error(ErrorCode.BAD_USER_INPUT, 200, `Invalid argument "${argument}": ${detail}`, { argumentName: argument });

export const slotUnavailable = (providerId: string, start: string) =>
  error(ErrorCode.SLOT_UNAVAILABLE, 200, `The slot at ${start} with provider "${providerId}" is not available`, { providerId, start });

export const idempotencyKeyReused = () =>
  error(ErrorCode.IDEMPOTENCY_KEY_REUSED, 200, 'This idempotency key was already used for a different booking');
