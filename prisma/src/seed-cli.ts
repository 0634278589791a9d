/** `npm run seed -- --patients N [--seed S]`: replaces all rows with a deterministic data set. */
import { parseArgs } from 'node:util';
import { openDatabase } from './database.js';
import { applyMigrations } from './migrate.js';
import { SEEDED, seedDatabase } from './seed.js';

const { values } = parseArgs({
  options: { patients: { type: 'string', default: '2000' }, seed: { type: 'string', default: '42' }, providers: { type: 'string' } },
});
const patients = Number(values.patients);
const seed = Number(values.seed);
if (!Number.isInteger(patients) || patients < 4 || !Number.isInteger(seed)) {
  console.error('usage: npm run seed -- --patients N (N >= 4) [--seed S] [--providers P]');
  process.exit(2);
}
const db = await openDatabase({ url: process.env.DATABASE_URL, dataDir: process.env.PGLITE_DATA_DIR });
try {
  await applyMigrations(db.adapterFactory);
  const started = performance.now();
  const counts = await seedDatabase(db.prisma, { patients, seed, providers: values.providers ? Number(values.providers) : undefined });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `Seeded ${db.kind} in ${seconds}s:`,
    Object.entries(counts)
      .map(([t, n]) => `${t} ${n}`)
      .join(', '),
  );
  console.log(
    `Try: clinician ${SEEDED.clinician}, their patient ${SEEDED.patient}, patient with a PSY-labelled condition ${SEEDED.psyPatient}.`,
  );
} finally {
  await db.close();
}
