// Runs `prisma generate` offline. Every Prisma 7 CLI command tries to fetch a native schema
// engine first, which generation never uses: point it at a stub so nothing is downloaded.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const env = { ...process.env };
if (!env.PRISMA_SCHEMA_ENGINE_BINARY) {
  const stub = join(mkdtempSync(join(tmpdir(), 'prisma-engine-')), 'schema-engine');
  writeFileSync(stub, '#!/bin/sh\nexit 1\n');
  chmodSync(stub, 0o755);
  env.PRISMA_SCHEMA_ENGINE_BINARY = stub;
}
env.PRISMA_HIDE_UPDATE_MESSAGE = '1';
const result = spawnSync('npx', ['--no-install', 'prisma', 'generate', '--schema', 'schema.prisma'], {
  stdio: ['ignore', 'inherit', 'inherit'],
  env,
});
process.exit(result.status ?? 1);
