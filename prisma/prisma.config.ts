// Used by the Prisma CLI where it can run (`prisma generate` here; `prisma migrate deploy`
// where the network allows its native engine). The running services never read this file.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'schema.prisma',
  migrations: { path: 'migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres' },
});
