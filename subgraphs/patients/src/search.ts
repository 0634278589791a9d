import { type Patient, Prisma } from '@healthgraph/db';
import { type Connection, decodeNameCursor, nameCursorOf, type Policy, toConnection } from '@healthgraph/kit';

/** What a patient search looks for: name terms (each begins the given or the family name), a birth date, an MRN. */
export interface PatientCriteria {
  terms: readonly string[];
  birthDate?: Date | null;
  mrn?: string | null;
}

type SearchRow = Partial<Patient> & { id: string; familyName: string; givenName: string };

/**
 * The sort key, case-folded and compared byte by byte: the expressions of the btree
 * `Patient_name_key_idx` (and `Patient_given_key_idx`), written exactly as they are indexed.
 */
const FAMILY_KEY = Prisma.raw(`(lower(p."familyName") COLLATE "C")`);
const GIVEN_KEY = Prisma.raw(`(lower(p."givenName") COLLATE "C")`);
const ORDER = Prisma.sql`ORDER BY ${FAMILY_KEY}, ${GIVEN_KEY}, p."id"`;

/** The keys beginning with `term`, folded as the key is: a range of the index (the bound's U+10FFFF is no name's next character). */
const keyRange = (key: Prisma.Sql, term: string) => Prisma.sql`${key} >= lower(${term}) AND ${key} < lower(${term}) || chr(1114111)`;

/**
 * Whether a key begins with `term`, as a condition no index serves: the ranges above choose the
 * rows, and this only checks them. (PostgreSQL 15 serves `starts_with` from a C-collated btree,
 * and with it the planner swapped a given name's ordered range for a bitmap of all its 16,500
 * rows, sorted: 480 ms.)
 */
const begins = (key: Prisma.Sql, term: string) => Prisma.sql`left(${key}, char_length(lower(${term}))) = lower(${term})`;

const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;

/**
 * The terms that decide a search, or null when no patient can match. A term that begins another is
 * implied by it ("jo" by "john"), and two terms where neither begins the other cannot begin the same
 * name: so once such terms are dropped, more than two left (one for each name) match no one, and
 * nothing is read. That is decided here for ASCII terms only, whose case folding is the same here
 * and in the database; the others are kept as they are.
 */
export function decisiveTerms(terms: readonly string[]): string[] | null {
  const folded = new Map<string, string>();
  const others = new Set<string>();
  for (const term of terms) {
    if (!PRINTABLE_ASCII.test(term)) others.add(term);
    else if (!folded.has(term.toLowerCase())) folded.set(term.toLowerCase(), term);
  }
  const keys = [...folded.keys()];
  const ascii = keys.filter((key) => !keys.some((other) => other !== key && other.startsWith(key)));
  if (ascii.length > 2) return null;
  return [...ascii.map((key) => folded.get(key)!), ...others];
}

/**
 * One page of patients matching `criteria` within the caller's reach, in case-folded name order
 * (lower(familyName), lower(givenName), id), keyset-paged by the names and id of the last row.
 *
 * Every term must begin the given or the family name. A match's family name then begins one of
 * the terms, or its given name begins every term. So the page is drawn from one ordered range of
 * `Patient_name_key_idx` per term (family names beginning it), each read in order up to a page,
 * and from the given names beginning the longest term: each distinct one is found by a skip
 * through `Patient_given_key_idx` and read in family order up to a page. However many patients
 * share a surname or a given name, a page reads up to a page per range: one per term, and one per
 * distinct given name beginning the longest term (README, "Not built yet", for prefixes many given
 * names share). The reach is the policy's own SQL; the columns read are the view's.
 */
export async function searchPatientPage(
  prisma: { $queryRaw<T>(query: Prisma.Sql): Promise<T> },
  policy: Policy,
  criteria: PatientCriteria,
  page: { size: number; after?: string | null },
): Promise<Connection<SearchRow>> {
  const cursor = decodeNameCursor(page.after);
  const decisive = decisiveTerms(criteria.terms);
  if (decisive === null) return toConnection([], page.size, nameCursorOf);
  const limit = Prisma.raw(String(page.size + 1));
  const conditions = [policy.patientScopeSql(Prisma.raw('p."id"'))];
  for (const term of decisive) conditions.push(Prisma.sql`(${begins(FAMILY_KEY, term)} OR ${begins(GIVEN_KEY, term)})`);
  if (criteria.birthDate) conditions.push(Prisma.sql`p."birthDate" = ${criteria.birthDate.toISOString().slice(0, 10)}::date`);
  if (criteria.mrn) conditions.push(Prisma.sql`p."mrn" = ${criteria.mrn}`);
  if (cursor) {
    const [family, given, id] = cursor;
    conditions.push(Prisma.sql`(${FAMILY_KEY}, ${GIVEN_KEY}, p."id") > (lower(${family}), lower(${given}), ${id})`);
  }
  const where = Prisma.join(conditions, ' AND ');
  // Only the columns the caller's view holds (names from the policy's own table, never from a caller).
  const columns = Prisma.raw(['id', ...policy.patientColumns].map((column) => `p."${column}"`).join(', '));
  const [first, ...rest] = decisive;
  if (first === undefined) {
    const rows = await prisma.$queryRaw<SearchRow[]>(Prisma.sql`SELECT ${columns} FROM "Patient" p WHERE ${where} ${ORDER} LIMIT ${limit}`);
    return toConnection(rows, page.size, nameCursorOf);
  }
  const longest = rest.reduce((a, b) => (b.length > a.length ? b : a), first);
  const byFamily = decisive.map(
    (term) => Prisma.sql`(SELECT p."id" FROM "Patient" p WHERE ${keyRange(FAMILY_KEY, term)} AND ${where} ${ORDER} LIMIT ${limit})`,
  );
  // Two ASCII terms left begin no single name together (decisiveTerms), so no given name begins
  // them all: the family ranges hold every match, and the given names are not walked.
  const byGiven =
    decisive.filter((term) => PRINTABLE_ASCII.test(term)).length >= 2
      ? []
      : [
          Prisma.sql`SELECT m."id" FROM "givenNames" g CROSS JOIN LATERAL (
            SELECT p."id" FROM "Patient" p WHERE ${GIVEN_KEY} = g."key" AND ${where} ORDER BY ${FAMILY_KEY}, p."id" LIMIT ${limit}
          ) m WHERE g."key" IS NOT NULL`,
        ];
  // Each range is planned on its own (MATERIALIZED), so that none is read in another order to suit
  // the join; the page's rows are then fetched by id.
  const rows = await prisma.$queryRaw<SearchRow[]>(Prisma.sql`
    WITH RECURSIVE "givenNames"("key") AS (
      SELECT min(${GIVEN_KEY}) FROM "Patient" p WHERE ${keyRange(GIVEN_KEY, longest)}
      UNION ALL
      SELECT (SELECT min(${GIVEN_KEY}) FROM "Patient" p WHERE ${GIVEN_KEY} > g."key" AND ${keyRange(GIVEN_KEY, longest)})
        FROM "givenNames" g WHERE g."key" IS NOT NULL
    ), "matches"("id") AS MATERIALIZED (
      ${Prisma.join([...byFamily, ...byGiven], ' UNION ALL ')}
    )
    SELECT ${columns} FROM "Patient" p WHERE p."id" IN (SELECT "id" FROM "matches")
    ${ORDER} LIMIT ${limit}`);
  return toConnection(rows, page.size, nameCursorOf);
}
