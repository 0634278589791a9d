import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bindMigrationAwareSqlAdapterFactory, type SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';

/** The folder holding schema.prisma and migrations/ (Prisma's standard layout). */
export const PRISMA_DIR = fileURLToPath(new URL('../', import.meta.url));
export const MIGRATIONS_DIR = join(PRISMA_DIR, 'migrations');
export const SCHEMA_PATH = join(PRISMA_DIR, 'schema.prisma');
/** The schema as of the newest migration, diffed against to write the next one. */
export const SCHEMA_SNAPSHOT_PATH = join(MIGRATIONS_DIR, 'schema.snapshot.prisma');

type Engine = import('@prisma/schema-engine-wasm').SchemaEngine;
type EngineModule = typeof import('@prisma/schema-engine-wasm/schema_engine_bg');

let engineModule: Promise<EngineModule> | undefined;

/** The slice of the WebAssembly global used here (the ES2023 lib does not declare it). */
declare const WebAssembly: {
  instantiate(bytes: Uint8Array, imports: Record<string, unknown>): Promise<{ instance: { exports: Record<string, unknown> } }>;
};

/**
 * Loads Prisma's schema engine compiled to WebAssembly. Its package targets bundlers, so the
 * .wasm is instantiated here by hand; this is what lets migrations run without the native
 * engine binary the Prisma CLI would download.
 */
function loadEngineModule(): Promise<EngineModule> {
  engineModule ??= (async () => {
    const bg: EngineModule = await import('@prisma/schema-engine-wasm/schema_engine_bg');
    const wasmPath = fileURLToPath(import.meta.resolve('@prisma/schema-engine-wasm/schema_engine_bg').replace(/\.js$/, '.wasm'));
    const { instance } = await WebAssembly.instantiate(readFileSync(wasmPath), {
      './schema_engine_bg.js': bg,
    });
    bg.__wbg_set_wasm(instance.exports as never);
    (instance.exports.__wbindgen_start as () => void)();
    return bg;
  })();
  return engineModule;
}

async function withEngine<T>(adapterFactory: SqlMigrationAwareDriverAdapterFactory, work: (engine: Engine) => Promise<T>): Promise<T> {
  const { SchemaEngine } = await loadEngineModule();
  const schema = readFileSync(SCHEMA_PATH, 'utf8');
  const engine = await SchemaEngine.new(
    { datamodels: [[SCHEMA_PATH, schema]] },
    () => {},
    bindMigrationAwareSqlAdapterFactory(adapterFactory),
  );
  try {
    return await work(engine);
  } finally {
    engine.free();
  }
}

function migrationList() {
  const directories = existsSync(MIGRATIONS_DIR)
    ? readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => entry.name)
        .sort()
    : [];
  const lockPath = join(MIGRATIONS_DIR, 'migration_lock.toml');
  return {
    baseDir: MIGRATIONS_DIR,
    lockfile: { path: 'migration_lock.toml', content: existsSync(lockPath) ? readFileSync(lockPath, 'utf8') : null },
    shadowDbInitScript: '',
    migrationDirectories: directories.map((name) => ({
      path: name,
      migrationFile: {
        path: 'migration.sql',
        content: { tag: 'ok' as const, value: readFileSync(join(MIGRATIONS_DIR, name, 'migration.sql'), 'utf8') },
      },
    })),
  };
}

/**
 * Applies every pending migration in prisma/migrations and records it in `_prisma_migrations`,
 * exactly as `prisma migrate deploy` does, so either path can take over from the other.
 */
export async function applyMigrations(adapterFactory: SqlMigrationAwareDriverAdapterFactory): Promise<string[]> {
  return withEngine(adapterFactory, async (engine) => {
    const result = await engine.applyMigrations({
      migrationsList: migrationList(),
      filters: { externalTables: [], externalEnums: [] },
    });
    return result.appliedMigrationNames;
  });
}

/**
 * Writes the SQL that takes the database from the schema of the newest migration to the current
 * schema.prisma. Returns null when there is nothing to migrate.
 */
export async function diffSchemaSinceLastMigration(adapterFactory: SqlMigrationAwareDriverAdapterFactory): Promise<string | null> {
  return withEngine(adapterFactory, async (engine) => {
    const previous = existsSync(SCHEMA_SNAPSHOT_PATH) ? readFileSync(SCHEMA_SNAPSHOT_PATH, 'utf8') : null;
    const result = await engine.diff({
      from: previous === null ? { tag: 'empty' } : { tag: 'schemaDatamodel', files: [{ path: SCHEMA_SNAPSHOT_PATH, content: previous }] },
      to: { tag: 'schemaDatamodel', files: [{ path: SCHEMA_PATH, content: readFileSync(SCHEMA_PATH, 'utf8') }] },
      script: true,
      exitCode: null,
      filters: { externalTables: [], externalEnums: [] },
    } as Parameters<Engine['diff']>[0]);
    const sql = result.stdout ?? '';
    return /^\s*(--.*\s*)*$/.test(sql) || sql.includes('This is an empty migration') ? null : sql;
  });
}
