import { applyMigrations, type Database, openDatabase } from '@healthgraph/db';
import { GraphQLError } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeLikePattern, nameSearchTerms, nameSearchWhere } from './name-search.js';
import { afterNameCursor, nameCursorOf } from './pagination.js';

const NAMES: [given: string, family: string][] = [
  ['Ann', 'O%Brien'],
  ['Bo', 'OxBrien'],
  ['Cy', 'O_Hara'],
  ['Di', 'Oxhara'],
  ['Ed', 'Back\\slash'],
  ['Fay', 'Backslash'],
  ['Gus', '100%'],
  ['Hal', '1000'],
  ['Ivy', 'Smith'],
  ['Jo', 'smithers'],
  ['Smitty', 'Jones'],
];

let db: Database;
beforeAll(async () => {
  db = await openDatabase({ dataDir: 'memory://' });
  await applyMigrations(db.adapterFactory);
  await db.prisma.patient.createMany({
    data: NAMES.map(([givenName, familyName], i) => ({
      id: `pat-ns-${i}`,
      mrn: `MRN-ns-${i}`,
      givenName,
      familyName,
      birthDate: new Date('1980-01-01'),
    })),
  });
  await db.prisma.provider.createMany({
    data: NAMES.map(([givenName, familyName], i) => ({
      id: `prv-ns-${i}`,
      npi: `NPI-ns-${i}`,
      givenName,
      familyName,
      specialty: 'Family Medicine',
    })),
  });
}, 120_000);
afterAll(() => db?.close());

const patients = async (name: string) =>
  (
    await db.prisma.patient.findMany({
      where: { AND: nameSearchWhere(name) },
      orderBy: [{ familyName: 'asc' }, { givenName: 'asc' }, { id: 'asc' }],
    })
  ).map((p) => p.familyName);
const providers = async (name: string) =>
  (await db.prisma.provider.findMany({ where: { AND: nameSearchWhere(name) } })).map((p) => p.familyName).sort();

function refusal(run: () => unknown): GraphQLError {
  try {
    run();
  } catch (error) {
    if (error instanceof GraphQLError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('name search', () => {
  it('matches the start of the given or the family name, ignoring case', async () => {
    expect(await patients('smi')).toEqual(['Jones', 'Smith', 'smithers']);
    expect(await patients('SMITH')).toEqual(['Smith', 'smithers']);
    expect(await patients('mith')).toEqual([]);
  });

  it('needs every term to match', async () => {
    expect(await patients('smi ivy')).toEqual(['Smith']);
    expect(await patients('  smi   jo ')).toEqual(['Jones', 'smithers']);
  });

  it('takes % and _ literally', async () => {
    expect(await patients('O%')).toEqual(['O%Brien']);
    expect(await patients('O_')).toEqual(['O_Hara']);
    expect(await patients('100%')).toEqual(['100%']);
    expect(await patients('%')).toEqual([]);
    expect(await patients('_')).toEqual([]);
  });

  it('takes a backslash literally', async () => {
    expect(await patients('Back\\')).toEqual(['Back\\slash']);
    expect(await patients('Back\\s')).toEqual(['Back\\slash']);
    expect(await patients('\\')).toEqual([]);
  });

  it('is the same condition for providers', async () => {
    expect(await providers('O_')).toEqual(['O_Hara']);
    expect(await providers('smi')).toEqual(['Jones', 'Smith', 'smithers']);
  });

  it('pages through matches with the name cursor in (familyName, givenName, id) order', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 10; page++) {
      const cursor = afterNameCursor(after);
      const rows = await db.prisma.patient.findMany({
        where: { AND: [...nameSearchWhere('o'), ...(cursor ? [cursor] : [])] },
        orderBy: [{ familyName: 'asc' }, { givenName: 'asc' }, { id: 'asc' }],
        take: 1,
      });
      if (!rows.length) break;
      seen.push(rows[0]!.familyName);
      after = Buffer.from(JSON.stringify(nameCursorOf(rows[0]!))).toString('base64url');
    }
    expect(seen).toEqual(['O%Brien', 'O_Hara', 'OxBrien', 'Oxhara']);
  });

  it('gives no condition for an absent or blank name', () => {
    expect(nameSearchWhere(undefined)).toEqual([]);
    expect(nameSearchWhere(null)).toEqual([]);
    expect(nameSearchWhere('  \t ')).toEqual([]);
  });

  it('refuses a NUL character as bad input naming the argument, before any SQL', () => {
    const error = refusal(() => nameSearchWhere('Smi\u0000th', 'name'));
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argumentName: 'name' });
    expect(error.message).toContain('"name"');
    expect(refusal(() => nameSearchWhere('\u0000', 'query')).extensions.argumentName).toBe('query');
  });

  it('refuses more than 100 characters', () => {
    expect(refusal(() => nameSearchWhere('x'.repeat(101))).extensions.code).toBe('BAD_USER_INPUT');
    expect(nameSearchTerms('maria de la cruz')).toHaveLength(4);
    expect(refusal(() => nameSearchTerms('a b c d e', 'query')).extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      argumentName: 'query',
    });
    expect(nameSearchWhere('x'.repeat(100))).toHaveLength(1);
  });

  it('escapes the escape character before the wildcards', () => {
    expect(escapeLikePattern('a\\%_b')).toBe('a\\\\\\%\\_b');
  });

  it("is served by the providers' trigram indexes, not a scan of every row (patients have ordered indexes of their own)", async () => {
    // The shape Prisma sends for nameSearchWhere (captured from its query log), with the scan ruled out as a choice.
    const plan = async (table: string) =>
      (
        await db.prisma.$transaction(async (tx) => {
          await tx.$executeRawUnsafe('SET LOCAL enable_seqscan = off');
          return tx.$queryRawUnsafe<{ 'QUERY PLAN': string }[]>(
            `EXPLAIN SELECT "id" FROM "${table}" WHERE ("givenName" ILIKE ('Smi' || '%') OR "familyName" ILIKE ('Smi' || '%'))`,
          );
        })
      )
        .map((row) => row['QUERY PLAN'])
        .join('\n');
    for (const table of ['Provider']) {
      const text = await plan(table);
      expect(text).toContain(`${table}_givenName_trgm_idx`);
      expect(text).toContain(`${table}_familyName_trgm_idx`);
      expect(text).not.toMatch(/Seq Scan/);
    }
  });
});
