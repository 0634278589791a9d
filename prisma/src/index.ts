export * from './audit-partitions.js';
export * from './database.js';
export type * from './generated/prisma/client.js';
export { Prisma, PrismaClient } from './generated/prisma/client.js';
export * from './migrate.js';
export * from './read-replica.js';
export * from './seed.js';
export * from './testing.js';
