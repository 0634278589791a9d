import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database, SeedOptions } from '@healthgraph/db';
import type { Purpose, Role } from '@healthgraph/platform';
import {
  type StackConfig as Config,
  loadStackConfig as loadConfig,
  mintDevToken,
  type Stack,
  startStack,
  type Walls,
} from '@healthgraph/stack';
import type { Logger } from 'pino';
import { createTestDatabase } from './database.js';

const TEST_PREFIX = `hgtest-${process.pid}-${Date.now()}`;
let stacks = 0;

export interface TestStack extends Stack {
  config: Config;
  /** The Redis key space its caches share (a replica of it uses the same). */
  redisPrefix: string;
  /** POSTs a GraphQL operation to the gateway as the given caller (or with raw headers). */
  query(
    as: Caller | { headers: Record<string, string> } | null,
    query: string,
    variables?: Record<string, unknown>,
  ): Promise<GraphQLResponse>;
  token(caller: Caller): Promise<string>;
}

export interface Caller {
  role: Role;
  sub: string;
  purpose?: Purpose;
  reason?: string;
}

export interface GraphQLResponse {
  status: number;
  headers: Headers;
  body: {
    data?: Record<string, unknown> | null;
    errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
  };
}

/** Each test process its own audit journal folder: journals are claimed per service and process. */
const JOURNAL_DIR = mkdtempSync(join(tmpdir(), 'hg-test-journal-'));

/** Test configuration; REDIS_URL passes through, under a prefix of this process's own. `env` adds or overrides variables. */
export const testConfig = (env: Record<string, string> = {}): Config =>
  loadConfig({
    REDIS_URL: process.env.REDIS_URL,
    CACHE_PREFIX: TEST_PREFIX,
    AUDIT_JOURNAL_DIR: JOURNAL_DIR,
    NODE_ENV: 'test',
    JWT_SECRET: 'test-secret-for-client-tokens-0123456789',
    SUBGRAPH_TOKEN_SECRET: 'test-secret-for-subgraph-tokens-0123456789',
    // The suite runs on a shared, loaded machine: a first write can take longer than production's
    // 3 s deadline there. The deadline itself is tested with its own values (resilience.test.ts).
    SUBGRAPH_TIMEOUT_MS: '15000',
    ...env,
  });

/** Starts the four subgraphs and the gateway on free ports over a private database. */
export async function startTestStack({
  seed,
  batching,
  cache,
  log,
  walls,
  env,
  database,
}: {
  /** Environment variables for the stack's configuration (NODE_ENV=development, CORS_ORIGINS...). */
  env?: Record<string, string>;
  /** A database of the test's own (one with a read replica, say), closed with the stack; otherwise a private one is made. */
  database?: Database;
  seed?: SeedOptions;
  batching?: boolean;
  cache?: Partial<Config['cache']>;
  log?: Logger;
  walls?: Walls;
} = {}): Promise<TestStack> {
  const config = testConfig(env);
  const db = database ?? (await createTestDatabase(seed));
  // Each stack its own key space: test files run side by side on different databases.
  const redisPrefix = `${config.redis.prefix}-${++stacks}`;
  const stack = await startStack({
    config,
    db,
    seedPatients: 0,
    ephemeralPorts: true,
    batching,
    log,
    cache: { ...config.cache, ...cache },
    redis: { ...config.redis, prefix: redisPrefix },
    walls,
  });
  return {
    ...withClient(stack, config),
    redisPrefix,
    async close() {
      await stack.close();
      await db.close();
    },
  };
}

/** A stack with the test client's helpers. */
function withClient(stack: Stack, config: Config): Omit<TestStack, 'redisPrefix'> {
  const token = (caller: Caller) => mintDevToken(config.jwt, caller);
  return {
    ...stack,
    config,
    token,
    async query(as, query, variables) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (as && 'headers' in as) Object.assign(headers, as.headers);
      else if (as) headers.authorization = `Bearer ${await token(as)}`;
      const response = await fetch(stack.gatewayUrl, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
      return { status: response.status, headers: response.headers, body: (await response.json()) as GraphQLResponse['body'] };
    },
  };
}

/**
 * Another replica of a test stack: its own four subgraph servers, caches (their own in-process
 * level) and gateway, over the same database and the same Redis key space, as a second pod would
 * be. `prisma` replaces its database client (a test that slows one replica's reads); `db` gives it
 * a database connection of its own (the caller closes it).
 */
export async function startReplica(of: TestStack, { prisma, db }: { prisma?: Database['prisma']; db?: Database } = {}): Promise<TestStack> {
  const stack = await startStack({
    config: of.config,
    db: db ?? (prisma ? { ...of.db, prisma } : of.db),
    seedPatients: 0,
    ephemeralPorts: true,
    cache: of.config.cache,
    redis: { ...of.config.redis, prefix: of.redisPrefix },
  });
  return { ...withClient(stack, of.config), redisPrefix: of.redisPrefix };
}

/** The error codes in a response, for compact assertions. */
export const codes = (response: GraphQLResponse) => (response.body.errors ?? []).map((e) => e.extensions?.code);
