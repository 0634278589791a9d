import { badUserInput } from '@healthgraph/platform';

/** Longest name search accepted, in characters. */
export const MAX_NAME_SEARCH_LENGTH = 100;

interface PrefixFilter {
  startsWith: string;
  mode: 'insensitive';
}

/** One search term: it begins the given name or the family name. */
export interface NameTermCondition {
  OR: [{ givenName: PrefixFilter }, { familyName: PrefixFilter }];
}

/**
 * Escapes the LIKE wildcards (and the escape character itself) so a term matches literally:
 * Prisma's `startsWith` sends its value into `ILIKE ($1 || '%')` as it is, so "O_Brien" would
 * otherwise match "OxBrien" and "%" would match every name.
 */
export function escapeLikePattern(term: string): string {
  return term.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * The Prisma conditions of a name search, one per whitespace-separated term, for patients and
 * providers alike: every term must begin the given or the family name, case-insensitively and
 * literally. The trigram indexes on both name columns serve it (migration name_search_trigram).
 * An absent or blank name gives no condition. A name that is too long, or holds a NUL (which
 * PostgreSQL refuses in text, failing the whole statement), is refused as BAD_USER_INPUT naming
 * `argument`.
 */
export function nameSearchWhere(name: string | null | undefined, argument = 'name'): NameTermCondition[] {
  if (name === null || name === undefined) return [];
  if (name.length > MAX_NAME_SEARCH_LENGTH) throw badUserInput(argument, `must be at most ${MAX_NAME_SEARCH_LENGTH} characters`);
  if (name.includes('\u0000')) throw badUserInput(argument, 'must not contain a NUL character');
  return name
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map((term) => {
      const startsWith = escapeLikePattern(term);
      return { OR: [{ givenName: { startsWith, mode: 'insensitive' } }, { familyName: { startsWith, mode: 'insensitive' } }] };
    });
}
