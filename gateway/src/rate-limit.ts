import { createHash } from 'node:crypto';
import { counter, type Principal, type RedisClientType, type Role, retryLater, withTimeout } from '@healthgraph/platform';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { PRIORITY_CLASSES, type PriorityClass } from './priority.js';

/**
 * Rate limits per caller (`sub`, by its priority class) and per role (all its callers together),
 * counted in Redis so every gateway replica shares them. When Redis is away or slow (over 100 ms)
 * each process counts on its own until it is back: limits then hold per process, so a caller
 * spread over N replicas may get up to N times its limit for that while, and nobody waits for
 * Redis. Over a limit: 429, Retry-After and RATE_LIMITED.
 *
 * Emergency requests do not count against their role's limit (a busy day for the clinicians must
 * not lock out the one who breaks the glass), and a break-glass caller's own limit is never below
 * the configured floor. Refusals of break-glass requests are audited where this is called.
 */
export interface RateLimitOptions {
  /** Length of the fixed window the limits count in. */
  windowSeconds: number;
  /** Requests per window of one caller, by class; 0 is no limit. */
  perSub: Record<PriorityClass, number>;
  /** Requests per window of all callers of a role together; 0 is no limit. */
  perRole: Record<Role, number>;
  /** The least a break-glass caller may always make per window. */
  breakGlassFloor: number;
  /** The shared Redis (absent: this process counts alone). */
  redis?: RedisClientType;
  /** Prefix of the Redis keys (CACHE_PREFIX). */
  prefix: string;
}

/** Longest wait for Redis before this process decides alone. */
const REDIS_DEADLINE_MS = 100;

const metrics = {
  limited: counter('healthgraph_rate_limited_total', 'Requests refused by a rate limit, by priority class and limit (sub, role)', [
    'class',
    'limit',
  ] as const),
  local: counter('healthgraph_rate_limit_local_total', 'Rate-limit decisions this process made alone because Redis did not answer'),
};
for (const priority of PRIORITY_CLASSES) for (const limit of ['sub', 'role'] as const) metrics.limited.inc({ class: priority, limit }, 0);

interface Limiter {
  shared?: RateLimiterRedis;
  local: RateLimiterMemory;
}

/** Keys are digests: no patient or staff id appears in Redis (the cache keeps the same rule). */
const digest = (value: string) => createHash('sha256').update(value).digest('base64url').slice(0, 22);

export class RateLimits {
  private readonly limiters = new Map<string, Limiter>();

  constructor(private readonly options: RateLimitOptions) {}

  /** Counts one request; throws RATE_LIMITED (429) if the caller or its role is over its limit. */
  async check(principal: Principal, priority: PriorityClass): Promise<void> {
    const breakGlass = principal.purpose === 'BTG';
    const configured = this.options.perSub[priority];
    const perSub = breakGlass && configured > 0 ? Math.max(configured, this.options.breakGlassFloor) : configured;
    if (perSub > 0) await this.consume(`sub:${priority}`, perSub, digest(principal.sub), priority, 'sub');
    const perRole = this.options.perRole[principal.role];
    if (priority !== 'emergency' && perRole > 0) await this.consume('role', perRole, principal.role, priority, 'role');
  }

  private async consume(name: string, points: number, key: string, priority: PriorityClass, limit: 'sub' | 'role'): Promise<void> {
    const limiter = this.limiter(name, points);
    try {
      try {
        if (!limiter.shared) throw new Error('no Redis');
        await withTimeout(limiter.shared.consume(key), REDIS_DEADLINE_MS, 'Redis');
      } catch (error) {
        if (error instanceof RateLimiterRes) throw error;
        metrics.local.inc();
        await limiter.local.consume(key);
      }
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) throw error;
      metrics.limited.inc({ class: priority, limit });
      const what = limit === 'sub' ? 'this caller' : `the ${key} role`;
      throw retryLater(
        'RATE_LIMITED',
        `Too many requests from ${what}: at most ${points} per ${this.options.windowSeconds} s`,
        error.msBeforeNext / 1000,
        { limit },
      );
    }
  }

  private limiter(name: string, points: number): Limiter {
    const id = `${name}:${points}`;
    let limiter = this.limiters.get(id);
    if (!limiter) {
      const settings = { points, duration: this.options.windowSeconds, keyPrefix: `${this.options.prefix}:rl:${id}` };
      limiter = {
        shared: this.options.redis
          ? new RateLimiterRedis({ ...settings, storeClient: this.options.redis, useRedisPackage: true, rejectIfRedisNotReady: true })
          : undefined,
        local: new RateLimiterMemory(settings),
      };
      this.limiters.set(id, limiter);
    }
    return limiter;
  }
}
