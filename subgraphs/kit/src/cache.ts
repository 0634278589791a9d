import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { closeRedis, connectRedis, createRedisClient, type PlatformConfig, withTimeout } from '@healthgraph/platform';
import KeyvRedis, { type RedisClientType } from '@keyv/redis';
import { createKeyv } from 'cacheable';
import { Keyv } from 'keyv';
import type { SubgraphConfig } from './config.js';
import { kitMetrics as metrics } from './metrics.js';

/** Data classes, each with its own TTL and hit/miss counters. */
export const DATA_CLASSES = ['patient', 'relationship', 'clinical', 'appointments', 'provider'] as const;
export type DataClass = (typeof DATA_CLASSES)[number];

export interface CacheOptions {
  /** Shared L2; without it the cache is in-process only. */
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

export interface CacheEntry<T> {
  key: string;
  value: T;
  tags: readonly string[];
  /** False for labelled, restricted or break-glass views: they stay in this process's memory. */
  shareable: boolean;
}

const INVALIDATION_CHANNEL = 'invalidate';
/** Tag generations remembered per process before the memory is dropped and re-read. */
const MAX_KNOWN_TAGS = 200_000;

/** JSON that keeps Dates (rows carry them). */
const encode = (value: unknown) =>
  JSON.stringify(value, function (this: Record<string, unknown>, key, v) {
    return this[key] instanceof Date ? { $d: (this[key] as Date).toISOString() } : v;
  });
const decode = (text: string) =>
  JSON.parse(text, (_, v) => (v && typeof v === 'object' && typeof v.$d === 'string' && Object.keys(v).length === 1 ? new Date(v.$d) : v));

/**
 * Two-level, role-scoped read cache. L1 is an LRU in each process; L2 is Redis, shared by every
 * replica, holding only shareable views, encrypted with AES-256-GCM.
 *
 * Invalidation uses tag generations: a key embeds the current generation of each of its tags, and a
 * committed mutation increments the generations in Redis and publishes them. Old entries are never
 * looked up again and expire by TTL. A replica trusts its L1 only while subscribed to those
 * messages: when the subscription drops (Redis down) its L1 is flushed and bypassed until the
 * subscription is back, so an outage costs speed, never correctness. Redis calls are time-boxed:
 * a slow or absent Redis is a miss, never a hang.
 */
export class ScopedCache {
  private readonly l1: Keyv;
  private readonly l2: Keyv | undefined;
  private readonly redis: RedisClientType | undefined;
  private readonly subscriber: RedisClientType | undefined;
  private readonly generations = new Map<string, number>();
  private subscribed = false;
  private readonly prefix: string;
  private readonly redisTimeoutMs: number;
  readonly stats = Object.fromEntries(DATA_CLASSES.map((c) => [c, { hits: 0, misses: 0, writeErrors: 0 }])) as Record<
    DataClass,
    { hits: number; misses: number; writeErrors: number }
  >;

  constructor(private readonly options: CacheOptions) {
    if (options.encryptionKey.length !== 32) throw new Error('the cache encryption key must be 32 bytes');
    this.prefix = options.prefix ?? 'hg';
    this.redisTimeoutMs = options.redisTimeoutMs ?? 100;
    this.l1 = createKeyv({ lruSize: options.lruSize ?? 50_000, checkInterval: 60_000 });
    if (options.redisUrl) {
      this.redis = createRedisClient(options.redisUrl);
      this.l2 = new Keyv({
        store: new KeyvRedis(this.redis, { throwOnConnectError: false, throwOnErrors: false }),
        useKeyPrefix: false,
        namespace: undefined,
      });
      this.l2.on('error', () => {});
      this.subscriber = this.redis.duplicate() as RedisClientType;
      this.subscriber.on('error', () => {});
      this.subscriber.on('end', () => this.unsubscribed());
      this.subscriber.on('reconnecting', () => this.unsubscribed());
      this.subscriber.on('ready', () => void this.subscribe());
    } else {
      this.subscribed = true; // one process: every invalidation is local
    }
  }

  /** Connects to Redis if configured; resolves even when Redis is down (the cache then runs on the database). */
  async connect(): Promise<void> {
    if (!this.redis || !this.subscriber) return;
    await Promise.all([connectRedis(this.redis), connectRedis(this.subscriber)]);
  }

  private async subscribe(): Promise<void> {
    try {
      await this.subscriber!.subscribe(`${this.prefix}:${INVALIDATION_CHANNEL}`, (message) => {
        const updates = JSON.parse(message) as Record<string, number>;
        for (const [tag, generation] of Object.entries(updates))
          this.generations.set(tag, Math.max(generation, this.generations.get(tag) ?? 0));
      });
      // Messages may have been missed while away: start from a clean L1.
      this.generations.clear();
      await this.l1.clear();
      this.subscribed = true;
    } catch {
      this.unsubscribed();
    }
  }

  private unsubscribed(): void {
    if (!this.subscribed) return;
    this.subscribed = false;
    this.generations.clear();
    void this.l1.clear();
  }

  /** Whether this process is currently in step with other replicas' invalidations. */
  get coherent(): boolean {
    return this.subscribed;
  }

  private get redisReady(): boolean {
    return Boolean(this.redis?.isReady);
  }

  private async generationsOf(tags: readonly string[]): Promise<number[]> {
    // Bounded memory. With Redis, forgotten generations are read again from it; alone, they are the
    // only record, so the entries keyed by them go too.
    if (this.generations.size > MAX_KNOWN_TAGS) {
      this.generations.clear();
      if (!this.redis) await this.l1.clear();
    }
    const unknown = [...new Set(tags.filter((tag) => !this.generations.has(tag)))];
    if (unknown.length > 0 && this.redisReady) {
      try {
        const values = await withTimeout(this.redis!.mGet(unknown.map((tag) => `${this.prefix}:gen:${tag}`)), this.redisTimeoutMs, 'Redis');
        unknown.forEach((tag, i) => {
          this.generations.set(tag, Number(values[i] ?? 0));
        });
      } catch {
        // Unknown generations: treat these keys as uncacheable for now (see get/set below).
        return tags.map(() => -1);
      }
    } else if (unknown.length > 0 && !this.redis) {
      for (const tag of unknown) this.generations.set(tag, 0);
    } else if (unknown.length > 0) {
      return tags.map(() => -1);
    }
    return tags.map((tag) => this.generations.get(tag) ?? -1);
  }

  private async fullKeys(dataClass: DataClass, items: readonly { key: string; tags: readonly string[] }[]): Promise<(string | null)[]> {
    const allTags = [...new Set(items.flatMap((item) => item.tags))];
    const generations = new Map((await this.generationsOf(allTags)).map((g, i) => [allTags[i]!, g]));
    return items.map(({ key, tags }) => {
      const gens = tags.map((tag) => generations.get(tag) ?? -1);
      if (gens.some((g) => g < 0)) return null;
      return `${this.prefix}:${dataClass}:${createHash('sha256')
        .update(`${key}|${tags.join(',')}@${gens.join('.')}`)
        .digest('base64url')}`;
    });
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

  /** Looks entries up, L1 then L2; undefined for a miss. Counts hits and misses per class. */
  async getMany<T>(dataClass: DataClass, items: readonly { key: string; tags: readonly string[] }[]): Promise<(T | undefined)[]> {
    const counters = this.stats[dataClass];
    if (!this.subscribed || items.length === 0) {
      counters.misses += items.length;
      if (items.length > 0) metrics.cacheLookups.inc({ class: dataClass, result: 'miss' }, items.length);
      return items.map(() => undefined);
    }
    const keys = await this.fullKeys(dataClass, items);
    const results: (T | undefined)[] = items.map(() => undefined);
    const live = keys.flatMap((key, i) => (key ? [[key, i] as const] : []));
    const local = await this.l1.getMany<string>(live.map(([key]) => key));
    const remote: (readonly [string, number])[] = [];
    live.forEach(([key, i], j) => {
      if (local[j] !== undefined) results[i] = decode(local[j]!) as T;
      else remote.push([key, i]);
    });
    if (remote.length > 0 && this.l2 && this.redisReady) {
      try {
        const values = await withTimeout(this.l2.getMany<string>(remote.map(([key]) => key)), this.redisTimeoutMs, 'Redis');
        await Promise.all(
          remote.map(async ([key, i], j) => {
            if (typeof values[j] !== 'string') return;
            const value = this.decrypt(values[j]!) as T;
            results[i] = value;
            await this.l1.set(key, encode(value), this.options.ttlSeconds[dataClass] * 1000);
          }),
        );
      } catch {
        // Redis slow or away: these are misses.
      }
    }
    for (const result of results) {
      if (result === undefined) counters.misses++;
      else counters.hits++;
      metrics.cacheLookups.inc({ class: dataClass, result: result === undefined ? 'miss' : 'hit' });
    }
    return results;
  }

  /** Stores views; shareable ones also go to Redis, encrypted. */
  async setMany<T>(dataClass: DataClass, entries: readonly CacheEntry<T>[]): Promise<void> {
    if (!this.subscribed || entries.length === 0) return;
    const keys = await this.fullKeys(dataClass, entries);
    const ttl = this.options.ttlSeconds[dataClass] * 1000;
    const writes = entries.flatMap((entry, i) => (keys[i] ? [[keys[i]!, entry] as const] : []));
    await this.l1.setMany(writes.map(([key, entry]) => ({ key, value: encode(entry.value), ttl })));
    const shared = writes.filter(([, entry]) => entry.shareable);
    if (shared.length > 0 && this.l2 && this.redisReady) {
      await withTimeout(
        this.l2.setMany(shared.map(([key, entry]) => ({ key, value: this.encrypt(entry.value), ttl }))),
        this.redisTimeoutMs,
        'Redis',
      ).catch(() => {});
    }
  }

  /**
   * Makes every cached view carrying one of these tags unreachable, here and on every replica.
   * Call after the mutation commits.
   */
  async invalidate(tags: readonly string[]): Promise<void> {
    const updates: Record<string, number> = {};
    if (this.redis) {
      try {
        const generations = await withTimeout(
          Promise.all(tags.map((tag) => this.redis!.incr(`${this.prefix}:gen:${tag}`))),
          1_000,
          'Redis',
        );
        tags.forEach((tag, i) => {
          updates[tag] = generations[i]!;
        });
        await withTimeout(this.redis.publish(`${this.prefix}:${INVALIDATION_CHANNEL}`, JSON.stringify(updates)), 1_000, 'Redis');
      } catch {
        // Redis away: other replicas are not subscribed either and have flushed their L1s.
      }
    }
    for (const tag of tags) {
      this.generations.set(tag, Math.max(updates[tag] ?? 0, (this.generations.get(tag) ?? 0) + 1));
    }
  }

  /** Closes the Redis connections: politely when Redis answers, at once when it does not. */
  async close(): Promise<void> {
    await Promise.all([closeRedis(this.subscriber), closeRedis(this.redis)]);
  }
}

/** The cache a configuration asks for, connected (or running on the database alone if Redis is down); undefined when off. */
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
  if (!cache) return spec.load([...ids]);
  const cached = await cache.getMany<V>(
    dataClass,
    ids.map((id) => ({ key: spec.key(id), tags: spec.tags(id) })),
  );
  const missing = ids.filter((_, i) => cached[i] === undefined);
  if (missing.length === 0) return cached as V[];
  const loaded = await spec.load(missing);
  const entries = missing.flatMap((id, i) => {
    const value = loaded[i];
    return value === null || value === undefined
      ? []
      : [{ key: spec.key(id), tags: spec.tags(id), value, shareable: spec.shareable(value) }];
  });
  // A view that cannot be stored is still served; the failure is counted, not thrown.
  await cache.setMany(dataClass, entries).catch(() => void cache.stats[dataClass].writeErrors++);
  const byId = new Map(missing.map((id, i) => [id, loaded[i] ?? null]));
  return ids.map((id, i) => (cached[i] !== undefined ? cached[i]! : (byId.get(id) ?? null)));
}
