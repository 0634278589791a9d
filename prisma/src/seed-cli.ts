/** `npm run seed -- --patients N [--seed S]`: replaces all rows with a deterministic data set. */
import { commandLine } from './command-line.js';
import { openDatabase } from './database.js';
import { applyMigrations } from './migrate.js';
import { DEFAULT_ANCHOR, planSeed, printSeedProgress, SEEDED, type SeedOptions, seedDatabase } from './seed.js';

const USAGE = `usage: npm run seed -- [--patients N] [--providers P] [--appointments A] [--seed S] [--anchor YYYY-MM-DD]

Replaces every row of DATABASE_URL (or of the embedded database when it is unset) with a
deterministic data set: the same options always give the same rows and ids.

  --patients N       patients to create, at least 4 (default 2000)
  --providers P      providers (default 7.5% of the patients, at least 10)
  --appointments A   appointments per patient (default 10)
  --seed S           any whole number (default 42)
  --anchor DAY       the day the data is centred on (default ${DEFAULT_ANCHOR.toISOString().slice(0, 10)})
  --help             this text`;

const cli = commandLine('seed', USAGE, {
  patients: { type: 'string' },
  providers: { type: 'string' },
  appointments: { type: 'string' },
  seed: { type: 'string' },
  anchor: { type: 'string' },
});
const { values } = cli;
// Annotated, so that TypeScript knows what follows a failed check is unreachable.
const fail: (message: string) => never = cli.fail;

function wholeNumber(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value.replace(/[_,]/g, ''))) fail(`--${flag} must be a whole number, not "${value}"`);
  return Number(value.replace(/[_,]/g, ''));
}

const anchorText = values.anchor;
if (anchorText !== undefined && (!/^\d{4}-\d{2}-\d{2}$/.test(anchorText) || Number.isNaN(Date.parse(`${anchorText}T00:00:00Z`)))) {
  fail(`--anchor must be a day as YYYY-MM-DD, not "${anchorText}"`);
}
const options: SeedOptions = {
  patients: wholeNumber('patients', values.patients),
  providers: wholeNumber('providers', values.providers),
  appointmentsPerPatient: wholeNumber('appointments', values.appointments),
  seed: wholeNumber('seed', values.seed),
  anchor: anchorText ? new Date(`${anchorText}T00:00:00Z`) : undefined,
};

try {
  // Refuse impossible combinations (too few providers for the appointments, say) before opening anything.
  planSeed(options);
} catch (error) {
  if (error instanceof RangeError) fail(error.message);
  throw error;
}

const db = await openDatabase({ url: process.env.DATABASE_URL, dataDir: process.env.PGLITE_DATA_DIR });
try {
  await applyMigrations(db.adapterFactory);
  const started = performance.now();
  console.log(`Seeding ${db.kind === 'pglite' ? 'the embedded database' : 'PostgreSQL'}:`);
  await seedDatabase(db.prisma, { ...options, onProgress: printSeedProgress() });
  console.log(`Seeded in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
  console.log(
    `Try: clinician ${SEEDED.clinician}, their patient ${SEEDED.patient}, patient with a PSY-labelled condition ${SEEDED.psyPatient}.`,
  );
} finally {
  await db.close();
}
