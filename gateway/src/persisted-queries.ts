import { createHash } from 'node:crypto';
import { existsSync, type FSWatcher, readFileSync, watch } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { KeyValueCache } from '@apollo/utils.keyvaluecache';
import { closeRedis, connectRedis, createRedisClient, type Logger, type Principal, type Role, withTimeout } from '@healthgraph/platform';
import KeyvRedis from '@keyv/redis';
import { createKeyv } from 'cacheable';
import { GraphQLError, parse, print } from 'graphql';
import { Keyv } from 'keyv';
import type { GatewayConfig, PersistedQueryMode } from './config.js';

/** off: any operation, APQ on; log_unknown: the same, logging operations not in the manifest;
 * safelist: manifest operations only, by id or identical text; require_id: manifest operations by id only. */
export type { PersistedQueryMode } from './config.js';

export const DEFAULT_MANIFEST_PATH = fileURLToPath(new URL('../../schema/persisted-query-manifest.json', import.meta.url));

interface ManifestOperation {
  id: string;
  name: string;
  type: 'query' | 'mutation' | 'subscription';
  body: string;
}

/** Normalised text, so whitespace and formatting do not decide whether an operation is trusted. */
const normalise = (body: string): string | null => {
  try {
    return print(parse(body));
  } catch {
    return null;
  }
};

/**
 * The trusted operations of Apollo's persisted query manifest format
 * (`apollo-persisted-query-manifest`, version 1), kept current while the file changes.
 */
export class TrustedOperations {
  private byId = new Map<string, ManifestOperation>();
  private bodies = new Set<string>();
  private names = new Set<string>();
  private watcher: FSWatcher | undefined;
  private readonly listeners = new Set<() => void>();

  /** Called after every successful (re)load. */
  onChange(listener: () => void): void {
    this.listeners.add(listener);
  }

  get operations(): Iterable<ManifestOperation> {
    return this.byId.values();
  }

  constructor(private readonly path: string) {
    this.load();
  }

  get size(): number {
    return this.byId.size;
  }

  /** The trusted operation of this name (names are unique in a manifest). */
  named(name: string): ManifestOperation | undefined {
    for (const operation of this.byId.values()) if (operation.name === name) return operation;
    return undefined;
  }

  /** Reads the manifest; a malformed file keeps the previous list (and says why). */
  load(): void {
    if (!existsSync(this.path)) return;
    const manifest = JSON.parse(readFileSync(this.path, 'utf8')) as { format?: string; version?: number; operations?: ManifestOperation[] };
    if (manifest.format !== 'apollo-persisted-query-manifest' || manifest.version !== 1 || !Array.isArray(manifest.operations)) {
      throw new Error(`${this.path} is not an apollo-persisted-query-manifest, version 1`);
    }
    this.byId = new Map(manifest.operations.map((operation) => [operation.id, operation]));
    this.bodies = new Set(manifest.operations.flatMap((operation) => normalise(operation.body) ?? []));
    this.names = new Set(manifest.operations.map((operation) => operation.name));
    for (const listener of this.listeners) listener();
  }

  /** Reloads when the file changes, so a deploy of new portal operations needs no restart. */
  watch(onError: (error: Error) => void = () => {}): void {
    if (this.watcher || !existsSync(this.path)) return;
    this.watcher = watch(this.path, { persistent: false }, () => {
      try {
        this.load();
      } catch (error) {
        onError(error as Error);
      }
    });
  }

  close(): void {
    this.watcher?.close();
  }

  byHash(id: string): ManifestOperation | undefined {
    return this.byId.get(id);
  }

  /** Whether a trusted operation has this name (operation names used as metric labels must be). */
  hasName(name: string): boolean {
    return this.names.has(name);
  }

  hasBody(body: string): boolean {
    const normalised = normalise(body);
    return normalised !== null && this.bodies.has(normalised);
  }
}

export interface PersistedQueryOptions {
  mode: PersistedQueryMode;
  trusted: TrustedOperations;
  /**
   * Roles that may run operations outside the list. Only what the caller proves counts: the role
   * of its verified token, never a header it chose (such as apollographql-client-name).
   */
  bypassRoles: readonly Role[];
  /** Told of operations outside the list in log_unknown mode: name and hash only, never variables. */
  logUnknown?: (operation: { name: string | null; hash: string; role: Role }) => void;
}

interface GraphQLBody {
  query?: unknown;
  operationName?: unknown;
  variables?: unknown;
  extensions?: { persistedQuery?: { version?: number; sha256Hash?: unknown } } & Record<string, unknown>;
}

const refuse = (code: string, message: string, status = 400) => new GraphQLError(message, { extensions: { code, http: { status } } });
const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

/**
 * Resolves persisted operations and applies the mode, before Apollo Server sees the request.
 * Manifest ids are sha256 of the operation text, the same hash APQ uses, so one client protocol
 * serves both: a known id becomes its trusted text; anything else is APQ's business in off and
 * log_unknown modes, and refused in safelist and require_id modes.
 */
export function resolvePersistedQuery(body: unknown, principal: Principal, options: PersistedQueryOptions): unknown {
  // Every operation of a batch answers to the list on its own.
  if (Array.isArray(body)) return body.map((item) => resolvePersistedQuery(item, principal, options));
  if (!body || typeof body !== 'object') return body;
  const request = body as GraphQLBody;
  const persisted: unknown = request.extensions?.persistedQuery;
  if (persisted !== undefined) {
    // Apollo Server answers other versions with an uncoded error, which would go out as INTERNAL_SERVER_ERROR.
    if (!persisted || typeof persisted !== 'object' || (persisted as { version?: unknown }).version !== 1)
      throw refuse(
        'PERSISTED_QUERY_NOT_SUPPORTED',
        'Only version 1 of the persisted query protocol is supported: send extensions.persistedQuery { version: 1, sha256Hash }',
      );
    if (!SHA256_HEX.test(String((persisted as { sha256Hash?: unknown }).sha256Hash)))
      throw refuse('BAD_REQUEST', 'extensions.persistedQuery.sha256Hash must be a sha256 digest in hexadecimal (64 characters)');
  }
  const hash =
    typeof request.extensions?.persistedQuery?.sha256Hash === 'string' ? request.extensions.persistedQuery.sha256Hash : undefined;
  const text = typeof request.query === 'string' ? request.query : undefined;
  const { mode, trusted } = options;
  const bypass = options.bypassRoles.includes(principal.role);
  const listOnly = (mode === 'safelist' || mode === 'require_id') && !bypass;

  if (hash && text !== undefined && createHash('sha256').update(text).digest('hex') !== hash) {
    throw refuse('PERSISTED_QUERY_HASH_MISMATCH', 'The query text does not match its sha256Hash');
  }
  const known = hash ? trusted.byHash(hash) : undefined;
  if (known) {
    // The trusted text, whatever the client sent with it; no APQ registration needed.
    const { persistedQuery: _persisted, ...extensions } = request.extensions ?? {};
    return { ...request, query: known.body, extensions };
  }
  if (!listOnly) {
    if (mode === 'log_unknown' && (text === undefined || !trusted.hasBody(text))) {
      options.logUnknown?.({
        name: typeof request.operationName === 'string' ? request.operationName : null,
        hash:
          hash ??
          createHash('sha256')
            .update(text ?? '')
            .digest('hex'),
        role: principal.role,
      });
    }
    return body;
  }
  if (hash) throw refuse('PERSISTED_QUERY_NOT_IN_LIST', 'This operation id is not in the list of trusted operations');
  if (mode === 'require_id')
    throw refuse(
      'PERSISTED_QUERY_ID_REQUIRED',
      'This gateway runs trusted operations by id only: send extensions.persistedQuery.sha256Hash from the manifest',
    );
  if (text !== undefined && trusted.hasBody(text)) {
    const { persistedQuery: _persisted, ...extensions } = request.extensions ?? {};
    return { ...request, extensions };
  }
  throw refuse('PERSISTED_QUERY_NOT_IN_LIST', 'This operation is not in the list of trusted operations');
}

/**
 * The APQ store on Keyv: Redis when configured (so a hash registered through one replica works
 * through every other), in-process otherwise. Time-boxed and without an offline queue: a Redis
 * outage means a client re-sends its text, never a hung request.
 */
export function createApqStore(
  redisUrl: string | undefined,
  prefix: string,
): KeyValueCache<string> & { connect(): Promise<void>; close(): Promise<void> } {
  const client = redisUrl ? createRedisClient(redisUrl) : undefined;
  const keyv = client
    ? new Keyv({
        store: new KeyvRedis(client, { throwOnConnectError: false, throwOnErrors: false }),
        useKeyPrefix: false,
        namespace: undefined,
      })
    : createKeyv({ lruSize: 10_000 });
  keyv.on('error', () => {});
  const key = (k: string) => `${prefix}:apq:${k}`;
  const deadline = <T>(promise: Promise<T>, fallback: T) => withTimeout(promise, 200, 'Redis').catch(() => fallback);
  return {
    get: (k) => deadline(keyv.get<string>(key(k)), undefined),
    set: async (k, value, options) => void (await deadline(keyv.set(key(k), value, options?.ttl ? options.ttl * 1000 : undefined), false)),
    delete: (k) => deadline(keyv.delete(key(k)), false),
    // Connected before the gateway serves, so a hash registered through one replica is at once found through another.
    connect: async () => void (client && (await connectRedis(client))),
    close: () => closeRedis(client),
  };
}

export interface PersistedQueriesOptions {
  config: Pick<GatewayConfig, 'persistedQueries' | 'redis'>;
  log: Logger;
  logUnknown: PersistedQueryOptions['logUnknown'];
}

/**
 * The gateway's persisted queries: the trusted operations (reloaded when the manifest changes),
 * the APQ store where the mode accepts any text (APQ registration would let any text in), and the
 * HTTP layer's step that resolves a request's id to its operation before Apollo Server sees it.
 */
export function createPersistedQueries({ config, log, logUnknown }: PersistedQueriesOptions) {
  const pq = config.persistedQueries;
  const trusted = new TrustedOperations(pq.manifestPath ?? DEFAULT_MANIFEST_PATH);
  trusted.watch((error) => log.error({ reason: error.message }, 'persisted query manifest not reloaded'));
  const apq = pq.mode === 'off' || pq.mode === 'log_unknown' ? createApqStore(config.redis.url, config.redis.prefix) : undefined;
  const options: PersistedQueryOptions = { mode: pq.mode, trusted, bypassRoles: pq.bypassRoles, logUnknown };
  return {
    trusted,
    apq,
    /** Resolves a request body for its verified caller. */
    resolve: (body: unknown, principal: Principal) => resolvePersistedQuery(body, principal, options),
    connect: async () => {
      await apq?.connect();
    },
    close: async () => {
      trusted.close();
      await apq?.close();
    },
  };
}
