import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR } from './migrate.js';

const migrations = readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => [entry.name, readFileSync(join(MIGRATIONS_DIR, entry.name, 'migration.sql'), 'utf8')] as const);

describe('the migrations', () => {
  // The PostgreSQL driver adapter runs a migration script split at every semicolon, comments included.
  it.each(migrations)('%s has no semicolon inside a comment', (_, sql) => {
    const commented = sql.split('\n').filter((line) => line.trim().startsWith('--') && line.includes(';'));
    expect(commented).toEqual([]);
  });
});
