import type { IncomingMessage } from 'node:http';
import {
  type AuditLog,
  closeRedis,
  connectRedis,
  counter,
  createRedisClient,
  gauge,
  histogram,
  type RetryLaterError,
  retryLater,
  SECONDS_BUCKETS,
} from '@healthgraph/platform';
import { GraphQLError } from 'graphql';
import type { GatewayConfig } from './config.js';
import type { GatewayContext } from './context.js';
import { gatewayRefusal } from './plugins/audit.js';
import { type ClassSettings, PRIORITY_CLASSES, type PriorityClass } from './priority.js';
import { RateLimits } from './rate-limit.js';

/**
 * Admission control: how many requests the gateway works on at once, who waits, and who is told
 * to come back later.
 *
 * A fixed concurrency limit, not an adaptive one. An adaptive limit (TCP Vegas, gradient) shrinks
 * when latency grows, but here latency grows for reasons the gateway cannot fix by doing less: the
 * subgraphs and the database are shared with other work on the same machine, and a limit that
 * shrank each time they slowed would shed requests they could still serve. A fixed limit is
 * predictable, testable, and sized once from the benchmark (the gateway's throughput stops rising
 * well before it); what adapts is how long a request would wait: the controller measures how long
 * an admitted request holds its slot and refuses at once, in well under a millisecond, any request
 * whose wait would be longer than its class allows.
 *
 * Requests beyond the limit wait in one queue per priority class and are admitted highest class
 * first, in arrival order within a class. Emergency requests may also take slots of their own
 * above the limit (the reserve), so they never wait for a back-office request to finish. Every
 * wait is bounded (the class's longest wait), every refusal is immediate and says when to retry
 * (503, Retry-After, OVERLOADED), and a caller that hangs up while waiting leaves the queue.
 *
 * It runs in the HTTP layer, after the caller's token is verified (the class comes from the
 * verified principal) and before Apollo Server parses, validates or plans anything: an Apollo
 * plugin's first hook runs inside the request pipeline, where a refused request has already cost
 * the gateway its parse and the refusal cannot carry a status of its own.
 */
export interface AdmissionOptions {
  /** Requests worked on at once, all classes together (ADMISSION_CONCURRENCY). */
  concurrency: number;
  /** Extra slots only emergency requests may take (ADMISSION_EMERGENCY_RESERVE). */
  emergencyReserve: number;
  classes: Readonly<Record<PriorityClass, Pick<ClassSettings, 'queue' | 'maxWaitMs' | 'retryAfterSeconds'>>>;
  /** How long a request holds its slot before any has been measured, in ms. */
  initialHoldMs?: number;
}

/** Gives the slot back; calling it more than once does nothing. */
export type Release = () => void;

interface Waiter {
  priority: PriorityClass;
  enqueuedAt: number;
  admit(): void;
  refuse(error: RetryLaterError): void;
}

const metrics = {
  admission: counter('healthgraph_admission_total', 'Requests by priority class and outcome: admitted, queued (waited for a slot), shed', [
    'class',
    'outcome',
  ] as const),
  wait: histogram('healthgraph_admission_wait_seconds', 'Time admitted requests waited for a slot', SECONDS_BUCKETS, ['class'] as const),
  queued: gauge('healthgraph_admission_queue_length', 'Requests waiting for a slot, by priority class', ['class'] as const),
  inFlight: gauge('healthgraph_admission_in_flight', 'Requests holding a slot'),
};
// Every series exists from the start at 0, so an alert on increase() sees the very first shed request of a new process.
for (const priority of PRIORITY_CLASSES)
  for (const outcome of ['admitted', 'queued', 'shed'] as const) metrics.admission.inc({ class: priority, outcome }, 0);

/** How much a new measurement of the slot holding time counts (exponentially weighted mean). */
const SMOOTHING = 0.1;

export class AdmissionControl {
  private inFlight = 0;
  private readonly queues = Object.fromEntries(PRIORITY_CLASSES.map((c) => [c, [] as Waiter[]])) as Record<PriorityClass, Waiter[]>;
  /** Mean time an admitted request holds its slot, in ms. */
  private holdMs: number;
  /**
   * Until when arrivals of a class are refused at once instead of queued: set when a request of
   * that class (or a higher one) waited its longest in vain, since the next would only wait as long.
   */
  private readonly shedUntil = Object.fromEntries(PRIORITY_CLASSES.map((c) => [c, 0])) as Record<PriorityClass, number>;

  constructor(private readonly options: AdmissionOptions) {
    this.holdMs = options.initialHoldMs ?? 20;
  }

  /** Requests holding a slot, and waiting per class (for tests and metrics). */
  get state(): { inFlight: number; waiting: Record<PriorityClass, number> } {
    return {
      inFlight: this.inFlight,
      waiting: Object.fromEntries(PRIORITY_CLASSES.map((c) => [c, this.queues[c].length])) as Record<PriorityClass, number>,
    };
  }

  /**
   * Resolves with a release once the request may run; rejects with OVERLOADED when it may not
   * (at once, or when its class's longest wait is over). An abort (the caller hung up) takes the
   * request out of the queue; the promise then rejects with the abort reason.
   */
  admit(priority: PriorityClass, signal?: AbortSignal): Promise<Release> {
    if (this.canRun(priority) && !this.waitingAtOrAbove(priority)) {
      metrics.admission.inc({ class: priority, outcome: 'admitted' });
      return Promise.resolve(this.take());
    }
    const settings = this.options.classes[priority];
    const queue = this.queues[priority];
    // Refuse now rather than later: a request that would wait past its class's bound is refused
    // before it waits at all, so refusals cost the caller a round trip, not a timeout.
    if (
      queue.length >= settings.queue ||
      performance.now() < this.shedUntil[priority] ||
      this.expectedWaitMs(priority) > settings.maxWaitMs
    ) {
      metrics.admission.inc({ class: priority, outcome: 'shed' });
      return Promise.reject(this.overloaded(priority));
    }
    metrics.admission.inc({ class: priority, outcome: 'queued' });
    return new Promise<Release>((resolve, reject) => {
      const leave = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const index = queue.indexOf(waiter);
        if (index >= 0) queue.splice(index, 1);
        metrics.queued.set({ class: priority }, queue.length);
      };
      const waiter: Waiter = {
        priority,
        enqueuedAt: performance.now(),
        admit: () => {
          leave();
          metrics.admission.inc({ class: priority, outcome: 'admitted' });
          metrics.wait.observe({ class: priority }, (performance.now() - waiter.enqueuedAt) / 1000);
          resolve(this.take());
        },
        refuse: (error) => {
          leave();
          metrics.admission.inc({ class: priority, outcome: 'shed' });
          reject(error);
        },
      };
      const onAbort = () => {
        leave();
        reject(signal?.reason ?? new Error('aborted'));
      };
      const timer = setTimeout(() => {
        this.timedOut(priority, settings.maxWaitMs);
        waiter.refuse(this.overloaded(priority));
      }, settings.maxWaitMs);
      timer.unref();
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      queue.push(waiter);
      metrics.queued.set({ class: priority }, queue.length);
    });
  }

  /**
   * A request of this class waited its longest: for as long again, refuse arrivals of this class
   * and every lower one at once (they would wait in vain too), so that under sustained overload
   * refusals cost a round trip, not a timeout. Higher classes are not affected, nor ever emergency.
   */
  private timedOut(priority: PriorityClass, forMs: number): void {
    // Emergency requests are never turned away for what happened to an earlier one: each may still wait its turn.
    if (priority === 'emergency') return;
    const until = performance.now() + forMs;
    for (const c of PRIORITY_CLASSES.slice(PRIORITY_CLASSES.indexOf(priority))) this.shedUntil[c] = Math.max(this.shedUntil[c], until);
  }

  private capacity(priority: PriorityClass): number {
    return this.options.concurrency + (priority === 'emergency' ? this.options.emergencyReserve : 0);
  }

  private canRun(priority: PriorityClass): boolean {
    return this.inFlight < this.capacity(priority);
  }

  /** Whether anyone of this class or a higher one is already waiting (they go first). */
  private waitingAtOrAbove(priority: PriorityClass): boolean {
    for (const c of PRIORITY_CLASSES) {
      if (this.queues[c].length > 0) return true;
      if (c === priority) return false;
    }
    return false;
  }

  /** How long a request of this class arriving now would wait: those ahead of it, served `capacity` at a time. */
  private expectedWaitMs(priority: PriorityClass): number {
    let ahead = 0;
    for (const c of PRIORITY_CLASSES) {
      ahead += this.queues[c].length;
      if (c === priority) break;
    }
    return ((ahead + 1) * this.holdMs) / this.capacity(priority);
  }

  private take(): Release {
    this.inFlight++;
    metrics.inFlight.set(this.inFlight);
    const started = performance.now();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight--;
      metrics.inFlight.set(this.inFlight);
      this.holdMs += SMOOTHING * (performance.now() - started - this.holdMs);
      this.dispatch();
    };
  }

  /** Hands free slots to the waiting, highest class first. */
  private dispatch(): void {
    for (const priority of PRIORITY_CLASSES) {
      const queue = this.queues[priority];
      while (queue.length > 0 && this.canRun(priority)) queue[0]!.admit();
      // A class that still waits blocks the ones below it: they cannot run where it cannot.
      if (queue.length > 0) return;
    }
  }

  private overloaded(priority: PriorityClass): RetryLaterError {
    const seconds = this.options.classes[priority].retryAfterSeconds;
    return retryLater('OVERLOADED', `The gateway is at capacity for ${priority} requests; retry after ${seconds} s`, seconds, {
      priorityClass: priority,
    });
  }
}

export interface AdmissionGateOptions {
  config: Pick<GatewayConfig, 'admission' | 'priority' | 'rateLimit' | 'redis'>;
  /** The verified caller of a request (the context factory: one verification per request). */
  callerOf: (req: IncomingMessage) => Promise<GatewayContext>;
  /** Where a refused break-glass request is recorded. */
  audit: AuditLog;
}

/**
 * The HTTP layer's admission step: after the token is verified (the class is the verified
 * caller's), before anything is parsed. A caller over its rate limit does not take a place in the
 * queue. Break-glass is always audited, refusals for load included: the emergency that was turned
 * away must be as visible to the privacy officer as the one let in (45 CFR 164.312(b)).
 */
export function createAdmissionGate({ config, callerOf, audit }: AdmissionGateOptions) {
  const admission = new AdmissionControl({ ...config.admission, classes: config.priority.classes });
  const redis = config.redis.url ? createRedisClient(config.redis.url) : undefined;
  const rateLimits = new RateLimits({
    ...config.rateLimit,
    perSub: Object.fromEntries(PRIORITY_CLASSES.map((c) => [c, config.priority.classes[c].ratePerSub])) as Record<PriorityClass, number>,
    redis,
    prefix: config.redis.prefix,
  });
  const admit = async (req: IncomingMessage, signal: AbortSignal) => {
    const caller = await callerOf(req);
    try {
      await rateLimits.check(caller.principal, caller.priority);
      return await admission.admit(caller.priority, signal);
    } catch (error) {
      if (caller.principal.breakGlassReason && error instanceof GraphQLError)
        audit.record(gatewayRefusal(caller, 'Request', { resourceIds: [String(error.extensions.code)] }));
      throw error;
    }
  };
  return {
    admission,
    admit,
    // Without Redis at start the limits hold per process until the client reconnects by itself.
    connect: async () => {
      if (redis) await connectRedis(redis);
    },
    close: () => closeRedis(redis),
  };
}
