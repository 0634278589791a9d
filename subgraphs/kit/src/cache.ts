import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { closeRedis, connectRedis, createRedisClient, type PlatformConfig, withTimeout } from '@healthgraph/platform';
import KeyvRedis, { type RedisClientType } from '@keyv/redis';
import { createKeyv } from 'cacheable';
import { Keyv } from 'keyv';
import { DATA_CLASSES, type DataClass, type SubgraphConfig } from './config.js';
import { kitMetrics as metrics } from './metrics.js';

export interface CacheOptions {
  /** Shared L2 and the shared tag generations; without it the cache is in-process only. */
  redisUrl?: string;
  /** 32-byte key for AES-256-GCM; every value written to Redis is encrypted with it. */
  encryptionKey: Buffer;
  /** Seconds per data class. */
  ttlSeconds: Record<DataClass, number>;
  /** Entries kept in each process's L1. */
  lruSize?: number;
  /** Longest wait for Redis before a read counts as a miss and a write is skipped. */
  redisTimeoutMs?: number;
  /** Key prefix in Redis (one deployment, one prefix). */
  prefix?: string;
}

/** A view as looked up: where it lives (with the generations read before any load) and what was found. */
export interface Lookup<T> {
  /** The full key in this process (Redis gets its digest), or null when the generations could not be read (then nothing is cached). */
  key: string | null;
  value: T | undefined;
}

/** JSON that keeps Dates (rows carry them). */
const encode = (value: unknown) =>
  JSON.stringify(value, function (this: Record<string, unknown>, key, v) {
    return this[key] instanceof Date ? { $d: (this[key] as Date).toISOString() } : v;
  });
const decode = (text: string) => revive(JSON.parse(text));
/** Dates back from their `{ $d }` form, in one walk (a JSON.parse reviver, called for every value, cost several times more). */
function revive(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = revive(value[i]);
    return value;
  }
  const record = value as Record<string, unknown>;
  if (typeof record.$d === 'string' && Object.keys(record).length === 1) return new Date(record.$d);
  for (const key in record) record[key] = revive(record[key]);
  return record;
}

/** Names never carry an id into Redis: tags and keys are hashed (a patient id is PHI). */
const digest = (text: string) => createHash('sha256').update(text).digest('base64url').slice(0, 27);
/** How many tags' Redis names each process keeps; the map starts over when full. */
const GENERATION_KEYS_KEPT = 20_000;

/**
 * Bumps a generation to at least the current time in milliseconds and at least one more than it
 * was, with a lifetime: a generation that expired and is bumped again can never come back to a
 * value an old entry was keyed by, so the counters can expire and Redis holds only recent tags.
 */
const BUMP = `local n = math.max(tonumber(ARGV[1]), tonumber(redis.call('GET', KEYS[1]) or '0') + 1)
redis.call('SET', KEYS[1], n, 'EX', ARGV[2])
return n`;

/**
 * Two-level, role-scoped read cache. L1 is an LRU in each process; L2 is Redis, shared by every
 * replica, holding only shareable views, encrypted with AES-256-GCM.
 *
 * Invalidation uses tag generations: a key embeds the current generation of each of its tags, and a
 * committed write bumps the generations (in Redis, shared by every replica). Every lookup reads the
 * generations from Redis first, in one MGET per batch, so the very next request on any replica
 * after a write's answer misses the old view: there is no TTL window and no message to wait for.
 * A view is stored under the generations read before its load, so a read that was still loading
 * when a write committed stores under generations that no later lookup uses. Redis calls are
 * time-boxed; while Redis cannot be read the cache is bypassed (slower, never stale, never hung).
 */
export class ScopedCache {
  private readonly l1: Keyv;
  private readonly l2: Keyv | undefined;
  private readonly redis: RedisClientType | undefined;
  /** Without Redis the generations live here: one process, every write local. */
  private readonly local = new Map<string, number>();
  private readonly prefix: string;
  private readonly redisTimeoutMs: number;
  /** How long a generation lives in Redis after its last bump: longer than any view. */
  private readonly generationTtlSeconds: number;
  readonly stats = Object.fromEntries(DATA_CLASSES.map((c) => [c, { hits: 0, misses: 0, writeErrors: 0 }])) as Record<
    DataClass,
    { hits: number; misses: number; writeErrors: number }
  >;

  constructor(private readonly options: CacheOptions) {
    if (options.encryptionKey.length !== 32) throw new Error('the cache encryption key must be 32 bytes');
    this.prefix = options.prefix ?? 'hg';
    this.redisTimeoutMs = options.redisTimeoutMs ?? 100;
    this.generationTtlSeconds = Math.max(86_400, 2 * Math.max(...Object.values(options.ttlSeconds)));
    // L1 holds encoded strings, which cannot be changed in place: no copy on every read (structuredClone of each entry).
    // One map, not sixteen: sharding by a hash of each key (the default) cost 3% of a subgraph's CPU and buys nothing in one thread.
    this.l1 = createKeyv({ lruSize: options.lruSize ?? 50_000, checkInterval: 60_000, useClone: false, storeHashSize: 1 });
    if (options.redisUrl) {
      this.redis = createRedisClient(options.redisUrl);
      this.l2 = new Keyv({
        store: new KeyvRedis(this.redis, { throwOnConnectError: false, throwOnErrors: false }),
        useKeyPrefix: false,
        namespace: undefined,
      });
      this.l2.on('error', () => {});
    }
  }

  /** Connects to Redis if configured; resolves even when Redis is down (the cache is then bypassed). */
  async connect(): Promise<void> {
    if (this.redis) await connectRedis(this.redis);
  }

  /** Whether this process can currently tell fresh views from stale ones (always, without Redis). */
  get coherent(): boolean {
    return !this.redis || this.redis.isReady;
  }

  /** Recent tags' Redis names: a tag is hashed once, not once per lookup. */
  private readonly generationKeys = new Map<string, string>();

  private generationKey(tag: string): string {
    let name = this.generationKeys.get(tag);
    if (name === undefined) {
      name = `${this.prefix}:gen:${digest(tag)}`;
      if (this.generationKeys.size >= GENERATION_KEYS_KEPT) this.generationKeys.clear();
      this.generationKeys.set(tag, name);
    }
    return name;
  }

  /** The current generation of each tag, or null when they cannot be read (then nothing is cached). */
  private async generationsOf(tags: readonly string[]): Promise<Map<string, number> | null> {
    const unique = [...new Set(tags)];
    if (!this.redis) return new Map(unique.map((tag) => [tag, this.local.get(tag) ?? 0]));
    if (!this.redis.isReady || unique.length === 0) return unique.length === 0 ? new Map() : null;
    try {
      const values = await withTimeout(this.redis.mGet(unique.map((tag) => this.generationKey(tag))), this.redisTimeoutMs, 'Redis');
      return new Map(unique.map((tag, i) => [tag, Number(values[i] ?? 0)]));
    } catch {
      return null;
    }
  }

  /** The view's key in this process: what decides its content, with each tag's generation. */
  private fullKey(dataClass: DataClass, key: string, tags: readonly string[], generations: Map<string, number>): string {
    return `${dataClass}:${key}|${tags.join(',')}@${tags.map((tag) => generations.get(tag)).join('.')}`;
  }

  /** The same key as Redis sees it: a digest, so no id reaches Redis (only views that miss L1 pay for the hash). */
  private remoteKey(fullKey: string): string {
    return `${this.prefix}:${fullKey.slice(0, fullKey.indexOf(':'))}:${digest(fullKey)}`;
  }

  private encrypt(value: unknown): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.options.encryptionKey, iv);
    const body = Buffer.concat([cipher.update(encode(value), 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
  }

  private decrypt(payload: string): unknown {
    const raw = Buffer.from(payload, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.options.encryptionKey, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return decode(Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8'));
  }

  /** Looks entries up, L1 then L2, under the current generations; counts hits and misses per class. */
  async lookup<T>(dataClass: DataClass, items: readonly { key: string; tags: readonly string[] }[]): Promise<Lookup<T>[]> {
    const counters = this.stats[dataClass];
    const generations = items.length > 0 ? await this.generationsOf(items.flatMap((item) => item.tags)) : null;
    const results: Lookup<T>[] = items.map(({ key, tags }) => ({
      key: generations ? this.fullKey(dataClass, key, tags, generations) : null,
      value: undefined,
    }));
    const live = results.flatMap((result, i) => (result.key ? [[result.key, i] as const] : []));
    if (live.length > 0) {
      const local = await this.l1.getMany<string>(live.map(([key]) => key));
      const remote: (readonly [string, number])[] = [];
      live.forEach(([key, i], j) => {
        if (local[j] !== undefined) results[i]!.value = decode(local[j]!) as T;
        else remote.push([key, i]);
      });
      if (remote.length > 0 && this.l2 && this.redis?.isReady) {
        try {
          const values = await withTimeout(
            this.l2.getMany<string>(remote.map(([key]) => this.remoteKey(key))),
            this.redisTimeoutMs,
            'Redis',
          );
          await Promise.all(
            remote.map(async ([key, i], j) => {
              if (typeof values[j] !== 'string') return;
              const value = this.decrypt(values[j]!) as T;
              results[i]!.value = value;
              await this.l1.set(key, encode(value), this.options.ttlSeconds[dataClass] * 1000);
            }),
          );
        } catch {
          // Redis slow or away: these are misses.
        }
      }
    }
    for (const { value } of results) {
      if (value === undefined) counters.misses++;
      else counters.hits++;
      metrics.cacheLookups.inc({ class: dataClass, result: value === undefined ? 'miss' : 'hit' });
    }
    return results;
  }

  /** Stores views under the keys their lookup returned; shareable ones also go to Redis, encrypted. */
  async store<T>(dataClass: DataClass, entries: readonly { key: string; value: T; shareable: boolean }[]): Promise<void> {
    if (entries.length === 0) return;
    const ttl = this.options.ttlSeconds[dataClass] * 1000;
    await this.l1.setMany(entries.map(({ key, value }) => ({ key, value: encode(value), ttl })));
    const shared = entries.filter((entry) => entry.shareable);
    if (shared.length > 0 && this.l2 && this.redis?.isReady) {
      await withTimeout(
        this.l2.setMany(shared.map(({ key, value }) => ({ key: this.remoteKey(key), value: this.encrypt(value), ttl }))),
        this.redisTimeoutMs,
        'Redis',
      ).catch(() => {
        this.stats[dataClass].writeErrors += shared.length;
      });
    }
  }

  /**
   * Makes every cached view carrying one of these tags unreachable, here and on every replica,
   * before it resolves. Call after the write commits and before answering it.
   */
  async invalidate(tags: readonly string[]): Promise<void> {
    const now = Date.now();
    for (const tag of tags) this.local.set(tag, Math.max(now, (this.local.get(tag) ?? 0) + 1));
    if (!this.redis) return;
    // Redis away: every lookup bypasses the cache until it is back, so nothing stale is served meanwhile.
    await withTimeout(
      Promise.all(
        tags.map((tag) =>
          this.redis!.eval(BUMP, { keys: [this.generationKey(tag)], arguments: [String(now), String(this.generationTtlSeconds)] }),
        ),
      ),
      1_000,
      'Redis',
    ).catch(() => {});
  }

  /** Closes the Redis connection: politely when Redis answers, at once when it does not. */
  async close(): Promise<void> {
    await closeRedis(this.redis);
  }
}

/** The cache a configuration asks for, connected (or bypassed while Redis is down); undefined when off. */
export async function openCache({
  cache: config,
  redis,
}: Pick<SubgraphConfig, 'cache'> & Pick<PlatformConfig, 'redis'>): Promise<ScopedCache | undefined> {
  if (!config.enabled) return undefined;
  const cache = new ScopedCache({
    redisUrl: redis.url,
    prefix: redis.prefix,
    encryptionKey: cacheKeyFrom(config.encryptionKey),
    ttlSeconds: config.ttlSeconds,
  });
  await cache.connect();
  return cache;
}

/** Derives the cache key material from configuration: 32 bytes from hex, base64 or (development) a passphrase. */
export function cacheKeyFrom(secret: string): Buffer {
  if (/^[0-9a-f]{64}$/i.test(secret)) return Buffer.from(secret, 'hex');
  const decoded = Buffer.from(secret, 'base64');
  if (decoded.length === 32) return decoded;
  return createHash('sha256').update(secret).digest();
}

export interface ReadThrough<V> {
  /** The view's key: everything that decides its content besides the tags (scope, arguments). */
  key: (id: string) => string;
  /** What invalidates it. */
  tags: (id: string) => string[];
  /** Whether this view may leave the process (never for labelled, restricted or break-glass views). */
  shareable: (value: V) => boolean;
  /** Loads the missing views, in the order given; null for none. */
  load: (ids: string[]) => Promise<(V | null)[]>;
}

/** Loader -> cache -> database for one batch of ids. Nulls are not cached. */
export async function readThrough<V>(
  cache: ScopedCache | undefined,
  dataClass: DataClass,
  ids: readonly string[],
  spec: ReadThrough<V>,
): Promise<(V | null)[]> {
  if (ids.length === 0) return [];
  if (!cache) return spec.load([...ids]);
  const found = await cache.lookup<V>(
    dataClass,
    ids.map((id) => ({ key: spec.key(id), tags: spec.tags(id) })),
  );
  const missing = ids.filter((_, i) => found[i]!.value === undefined);
  if (missing.length === 0) return found.map((entry) => entry.value as V);
  const loaded = await spec.load(missing);
  const byId = new Map(missing.map((id, i) => [id, loaded[i] ?? null]));
  // Stored under the generations read before the load: if a write committed meanwhile, no later lookup finds these.
  const entries = ids.flatMap((id, i) => {
    const { key, value } = found[i]!;
    const fresh = byId.get(id);
    return value === undefined && key && fresh !== null && fresh !== undefined
      ? [{ key, value: fresh, shareable: spec.shareable(fresh) }]
      : [];
  });
  // A view that cannot be stored is still served; the failure is counted, not thrown.
  await cache.store(dataClass, entries).catch(() => {
    cache.stats[dataClass].writeErrors += entries.length;
  });
  return ids.map((id, i) => (found[i]!.value !== undefined ? found[i]!.value! : (byId.get(id) ?? null)));
}
