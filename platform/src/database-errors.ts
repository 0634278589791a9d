/**
 * What a database error means, whatever layer raised it (Prisma's client, its driver adapter, pg
 * or PGlite). Two answers matter: the statement's data was refused (retrying the same rows fails
 * again: find and set aside the bad one), or the database could not be reached or did not answer
 * (retrying later may succeed: never report this as "not found").
 */

interface AdapterCause {
  kind?: string;
  code?: string;
  originalCode?: string;
}

function causeOf(error: unknown): AdapterCause | undefined {
  const meta = (error as { meta?: { driverAdapterError?: { cause?: AdapterCause } } } | null)?.meta;
  return meta?.driverAdapterError?.cause ?? (error as { cause?: AdapterCause } | null)?.cause;
}

/** The SQLSTATE of a database error (e.g. 22P05), when it carries one. */
export function sqlStateOf(error: unknown): string | undefined {
  const cause = causeOf(error);
  const code = cause?.originalCode ?? cause?.code ?? (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * The rows were refused for what they hold: data exceptions (class 22, e.g. a NUL byte in text),
 * integrity violations (23) and syntax or access errors (42) fail again however often they are retried.
 */
export function isDataError(error: unknown): boolean {
  const state = sqlStateOf(error);
  if (state) return /^(22|23|42)/.test(state);
  return causeOf(error)?.kind === 'InvalidInputValue';
}

/** The database was unreachable, shutting down, out of connections or too slow: retryable, never an absence. */
export function isUnavailable(error: unknown): boolean {
  const cause = causeOf(error);
  const kind = cause?.kind ?? '';
  if (/NotReachable|Timeout|Closed|ConnectionClosed|TooManyConnections|SocketTimeout|TlsConnectionError/i.test(kind)) return true;
  const state = sqlStateOf(error);
  if (state) return /^(08|53|57|58)/.test(state);
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^(P1001|P1002|P1008|P1017|P2024|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE)$/.test(code)) return true;
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' && /Can't reach database server|connection (terminated|refused|closed)|timed? ?out/i.test(message);
}
