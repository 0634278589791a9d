import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SeedOptions } from '@healthgraph/db';
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

/** Test configuration; REDIS_URL passes through, under a prefix of this process's own. */
export const testConfig = (): Config =>
  loadConfig({
    REDIS_URL: process.env.REDIS_URL,
    CACHE_PREFIX: TEST_PREFIX,
    AUDIT_JOURNAL_DIR: JOURNAL_DIR,
    NODE_ENV: 'test',
    JWT_SECRET: 'test-secret-for-client-tokens-0123456789',
    SUBGRAPH_TOKEN_SECRET: 'test-secret-for-subgraph-tokens-0123456789',
  });

/** Starts the four subgraphs and the gateway on free ports over a private database. */
export async function startTestStack({
  seed,
  batching,
  cache,
  log,
  walls,
}: {
  seed?: SeedOptions;
  batching?: boolean;
  cache?: Partial<Config['cache']>;
  log?: Logger;
  walls?: Walls;
} = {}): Promise<TestStack> {
  const config = testConfig();
  const db = await createTestDatabase(seed);
  // Each stack its own key space: test files run side by side on different databases.
  const stack = await startStack({
    config,
    db,
    seedPatients: 0,
    ephemeralPorts: true,
    batching,
    log,
    cache: { ...config.cache, ...cache },
    redis: { ...config.redis, prefix: `${config.redis.prefix}-${++stacks}` },
    walls,
  });
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
    async close() {
      await stack.close();
      await db.close();
    },
  };
}

/** The error codes in a response, for compact assertions. */
export const codes = (response: GraphQLResponse) => (response.body.errors ?? []).map((e) => e.extensions?.code);
