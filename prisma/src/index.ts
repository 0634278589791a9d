export * from './database.js';
export * from './migrate.js';
export * from './seed.js';
export { Prisma, PrismaClient } from './generated/prisma/client.js';
export type * from './generated/prisma/client.js';
