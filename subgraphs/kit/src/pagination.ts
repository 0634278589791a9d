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
 * Keyset condition for lists ordered by (familyName, givenName, id): the rows strictly after the
 * cursor, or null without one. Shared by patient and provider search.
 */
export function afterNameCursor(after: string | null | undefined) {
  const cursor = decodeCursor(after);
  if (!cursor) return null;
  if (cursor.length !== 3) throw badUserInput('after', 'is not a cursor returned by this API');
  const [family, given, id] = cursor.map(String) as [string, string, string];
  return {
    OR: [
      { familyName: { gt: family } },
      { familyName: family, givenName: { gt: given } },
      { familyName: family, givenName: given, id: { gt: id } },
    ],
  };
}

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
