import { badUserInput } from '@healthgraph/platform';

/** Longest name search accepted, in characters. */
export const MAX_NAME_SEARCH_LENGTH = 100;
/** Most words a name search may have: a given and a family name of two words each ("Maria de la Cruz"). */
export const MAX_NAME_SEARCH_TERMS = 4;

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
 * The terms of a name search: its whitespace-separated words, each of which must begin the given or
 * the family name. An absent or blank name has none. A name that is too long or has too many words, or holds a NUL (which
 * PostgreSQL refuses in text, failing the whole statement), is refused as BAD_USER_INPUT naming
 * `argument`.
 */
export function nameSearchTerms(name: string | null | undefined, argument = 'name'): string[] {
  if (name === null || name === undefined) return [];
  if (name.length > MAX_NAME_SEARCH_LENGTH) throw badUserInput(argument, `must be at most ${MAX_NAME_SEARCH_LENGTH} characters`);
  if (name.includes('\u0000')) throw badUserInput(argument, 'must not contain a NUL character');
  const terms = [...new Set(name.trim().split(/\s+/).filter(Boolean))];
  if (terms.length > MAX_NAME_SEARCH_TERMS) throw badUserInput(argument, `must be at most ${MAX_NAME_SEARCH_TERMS} words`);
  return terms;
}

/**
 * The Prisma conditions of a name search (providers'): one per term, each beginning the given or
 * the family name, case-insensitively and literally. The trigram indexes on the provider's name
 * columns serve it (migration name_search_trigram). Patients are searched in SQL of their own, in
 * an order an index keeps (subgraphs/patients/src/search.ts).
 */
export function nameSearchWhere(name: string | null | undefined, argument = 'name'): NameTermCondition[] {
  return nameSearchTerms(name, argument).map((term) => {
    const startsWith = escapeLikePattern(term);
    return { OR: [{ givenName: { startsWith, mode: 'insensitive' } }, { familyName: { startsWith, mode: 'insensitive' } }] };
  });
}
