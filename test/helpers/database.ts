import { randomBytes } from 'node:crypto';
import { applyMigrations, type Database, openDatabase, type SeedOptions, seedDatabase } from '@healthgraph/db';
import pg from 'pg';

/** Which database the tests run on; CI sets DATABASE_URL so they run on PostgreSQL. */
export const TEST_DATABASE = process.env.DATABASE_URL ? 'postgresql' : 'pglite';
if (!process.env.DATABASE_URL) {
  console.warn('DATABASE_URL is not set: end-to-end tests run on embedded PGlite, not PostgreSQL.');
}

/**
 * A private, migrated and seeded database for one test file: a fresh PostgreSQL database created
 * next to DATABASE_URL's (and dropped afterwards), or an in-memory PGlite.
 */
export async function createTestDatabase(seed: SeedOptions = { patients: 60 }): Promise<Database & { url?: string }> {
  const base = process.env.DATABASE_URL;
  if (!base) {
    const db = await openDatabase({ dataDir: 'memory://' });
    await applyMigrations(db.adapterFactory);
    await seedDatabase(db.prisma, seed);
    return db;
  }
  const name = `healthgraph_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  const db = await openDatabase({ url: url.toString(), poolSize: 20 });
  await applyMigrations(db.adapterFactory);
  await seedDatabase(db.prisma, seed);
  return {
    ...db,
    url: url.toString(),
    async close() {
      await db.close();
      const cleanup = new pg.Client({ connectionString: base });
      await cleanup.connect();
      await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await cleanup.end();
    },
  };
}

/**
 * Counts the SQL statements of the read and write paths while `work` runs. The audit writer's
 * batched INSERTs run on a timer, apart from any request, and are left out.
 */
export async function countStatements<T>(db: Database, work: () => Promise<T>): Promise<{ result: T; statements: string[] }> {
  const statements: string[] = [];
  const stop = db.onQuery((sql) => {
    if (!sql.includes('"AuditEvent"')) statements.push(sql);
  });
  try {
    return { result: await work(), statements };
  } finally {
    stop();
  }
}
