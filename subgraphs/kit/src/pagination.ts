import { badUserInput } from '@healthgraph/platform';

/** Largest page any list field returns; `first` above it is refused rather than silently cut. */
export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;

/** Validates `first`, naming the argument in the error. */
export function pageSize(first: number | null | undefined, argument = 'first', max = MAX_PAGE_SIZE): number {
  if (first === null || first === undefined) return Math.min(DEFAULT_PAGE_SIZE, max);
  if (!Number.isInteger(first) || first < 1 || first > max) throw badUserInput(argument, `must be between 1 and ${max}`);
  return first;
}

/** Text PostgreSQL can store: no NUL, no unpaired surrogate. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what is refused.
const STORABLE = /^(?:[^\u0000\ud800-\udfff]|[\ud800-\udbff][\udc00-\udfff])*$/;

/** Cursors are opaque to clients: base64url of the sort key of the last row returned. */
export const encodeCursor = (parts: readonly (string | number)[]): string => Buffer.from(JSON.stringify(parts)).toString('base64url');

export function decodeCursor(cursor: string | null | undefined, argument = 'after'): (string | number)[] | null {
  if (cursor === null || cursor === undefined) return null;
  try {
    const parts: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(parts) && parts.length > 0 && parts.every((p) => typeof p === 'string' || typeof p === 'number')) return parts;
  } catch {
    // fall through to the refusal below
  }
  throw badUserInput(argument, 'is not a cursor returned by this API');
}

/**
 * The (familyName, givenName, id) a name-ordered list's cursor holds, or null without one: names as
 * the data holds them and a plain id, or the cursor was not made by this API (BAD_USER_INPUT).
 */
export function decodeNameCursor(after: string | null | undefined): [family: string, given: string, id: string] | null {
  const cursor = decodeCursor(after);
  if (!cursor) return null;
  // A forged cursor may carry anything: names as the data holds them, and a plain id, or it is refused.
  if (
    cursor.length !== 3 ||
    !cursor.every((part) => typeof part === 'string' && part.length <= 200 && STORABLE.test(part)) ||
    !PLAIN_ID.test(cursor[2] as string)
  ) {
    throw badUserInput('after', 'is not a cursor returned by this API');
  }
  return cursor as [string, string, string];
}

/**
 * Keyset condition for lists ordered by (familyName, givenName, id): the rows strictly after the
 * cursor, or null without one. Shared by provider search and a clinician's patient list.
 */
export function afterNameCursor(after: string | null | undefined) {
  const cursor = decodeNameCursor(after);
  if (!cursor) return null;
  const [family, given, id] = cursor;
  return {
    OR: [
      { familyName: { gt: family } },
      { familyName: family, givenName: { gt: given } },
      { familyName: family, givenName: given, id: { gt: id } },
    ],
  };
}

/** Instants a time cursor may hold: the range the data can have (beyond it a cursor was not made by this API). */
const EARLIEST = Date.UTC(1900, 0, 1);
const LATEST = Date.UTC(2200, 0, 1);

/**
 * Decodes a cursor over rows ordered by (an instant, id), as notes, appointments and the audit
 * trail are: the instant must be a real one in the data's range and the id a plain one, or the
 * cursor was not made by this API (BAD_USER_INPUT naming the argument, never a database error).
 */
export function decodeTimeCursor(cursor: string | null | undefined, argument = 'after'): [Date, string] | null {
  const parts = decodeCursor(cursor, argument);
  if (!parts) return null;
  const [at, id] = parts;
  const instant = typeof at === 'string' ? new Date(at) : new Date(Number.NaN);
  const time = instant.getTime();
  if (parts.length !== 2 || Number.isNaN(time) || time < EARLIEST || time > LATEST || typeof id !== 'string' || !PLAIN_ID.test(id)) {
    throw badUserInput(argument, 'is not a cursor returned by this API');
  }
  return [instant, id];
}

/** The cursor parts of a row in (an instant, id) order. */
export const timeCursorOf = (at: Date, id: string) => [at.toISOString(), id];

/** Ids this API makes: letters, digits and a few separators. */
const PLAIN_ID = /^[A-Za-z0-9._:-]{1,200}$/;

/** The cursor parts of a row in (familyName, givenName, id) order. */
export const nameCursorOf = (row: { familyName: string; givenName: string; id: string }) => [row.familyName, row.givenName, row.id];

export interface Connection<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/** Builds a Relay connection from rows fetched with one extra row to tell whether more follow. */
export function toConnection<T>(rows: readonly T[], size: number, cursorOf: (row: T) => (string | number)[]): Connection<T> {
  const page = rows.slice(0, size);
  const edges = page.map((node) => ({ cursor: encodeCursor(cursorOf(node)), node }));
  return { edges, pageInfo: { hasNextPage: rows.length > size, endCursor: edges.at(-1)?.cursor ?? null } };
}

type NameRow = { familyName: string; givenName: string; id: string };
type NameOrder = { familyName: 'asc' } | { givenName: 'asc' } | { id: 'asc' };

/**
 * One page of a list in (familyName, givenName, id) order, keyset-paged: one statement, stable
 * under inserts. `find` is the model's findMany (patients, providers); `filters` are ANDed with the
 * cursor's condition.
 */
export async function pageByName<T extends NameRow, W>(
  find: (args: {
    where: { AND: (W | NonNullable<ReturnType<typeof afterNameCursor>>)[] };
    orderBy: NameOrder[];
    take: number;
  }) => Promise<T[]>,
  filters: W[],
  { first, after }: { first?: number | null; after?: string | null },
): Promise<Connection<T>> {
  const size = pageSize(first);
  const afterCursor = afterNameCursor(after);
  const rows = await find({
    where: { AND: afterCursor ? [...filters, afterCursor] : filters },
    orderBy: [{ familyName: 'asc' }, { givenName: 'asc' }, { id: 'asc' }],
    take: size + 1,
  });
  return toConnection(rows, size, nameCursorOf);
}
