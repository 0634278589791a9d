import type {
  IsolationLevel,
  SqlDriverAdapter,
  SqlDriverAdapterFactory,
  SqlMigrationAwareDriverAdapterFactory,
  SqlQuery,
  SqlResultSet,
  Transaction,
} from '@prisma/driver-adapter-utils';

/**
 * Where every process learns how far the primary's write-ahead log had got when a write
 * committed. A read may go to the replica only once the replica has replayed that far, so a
 * read that starts after a write returns (the writer's own follow-up read, another clinician's
 * next request on another replica, the cache fill after a tag generation was bumped) sees it.
 */
export interface WalPositions {
  /**
   * The highest position a writer has published; undefined when the store cannot be asked now,
   * null when it answered but holds no mark (lost in a restart or an eviction). Either way the
   * read goes to the primary; on null the mark is set again from the primary.
   */
  required(): Promise<bigint | null | undefined>;
  /** Publishes the position a committed write reached (kept as the maximum of all published). */
  publish(position: bigint): Promise<void>;
}

/** The positions of one process, for one process (`npm start`): several processes need a shared store (Redis). */
export function localWalPositions(): WalPositions {
  let highest = 0n;
  return {
    required: async () => highest,
    publish: async (position) => {
      if (position > highest) highest = position;
    },
  };
}

/** `16/B374D848` to a number that orders as WAL positions do. */
export function parseLsn(text: string): bigint {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text);
  if (!match) throw new RangeError(`not a WAL position: ${JSON.stringify(text)}`);
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

/** What makes a SELECT more than a read: row locks, `SELECT ... INTO`, sequences, advisory locks, settings, our own partition maintenance. */
const NOT_ONLY_READING =
  /\bfor\s+(?:update|no\s+key\s+update|share|key\s+share)\b|\binto\b|\b(?:nextval|setval|set_config|pg_advisory\w*|pg_try_advisory\w*|\w*ensure\w*partitions?)"?\s*\(/i;

/**
 * Whether a statement only reads, and so may go to the replica: text that begins with SELECT
 * (a leading comment is not looked behind: it goes to the primary) and does nothing in the list
 * above. Everything else (writes, `INSERT ... RETURNING`, `WITH`, locking reads) goes to the
 * primary, and so does every statement of a transaction. When in doubt, the primary.
 */
export function isPlainRead(sql: string): boolean {
  const text = sql.trimStart();
  return /^select\b/i.test(text) && !NOT_ONLY_READING.test(text);
}

export type ReadTarget = 'replica' | 'primary';

export interface ReadRoutingOptions {
  positions: WalPositions;
  /** Called for every plain read with where it went (and why it did not go to the replica). */
  onRead?: (target: ReadTarget, reason: 'fresh' | 'behind' | 'unknown' | 'replica-failed') => void;
  /** Called when publishing a write's position failed: other processes may read the replica before it has the write. */
  onPublishFailed?: (error: unknown) => void;
  /** How long the replica's replayed position is reused before it is asked again (default 5 ms: it only grows). */
  replayPollMs?: number;
  /** How long the replica is left alone after it failed a query (default 2 s). */
  replicaBackoffMs?: number;
  /** Longest the replica's own answer about its position may take before the read goes to the primary (default 250 ms). */
  replayCheckMs?: number;
  /** After a write whose position could not be published: how long to wait for the replica to replay it before answering (default 5 s). */
  catchUpMs?: number;
}

const NO_ARGS = { args: [], argTypes: [] };

/**
 * A driver adapter that sends plain reads to a streaming replica when it has replayed every
 * published write, and everything else to the primary. Prisma sees one database: models, raw
 * queries and loaders need no change, and a statement the replica cannot answer (it is down, it
 * cancelled a query for recovery) is answered by the primary instead.
 */
export function routeReads(
  primary: SqlMigrationAwareDriverAdapterFactory,
  replica: SqlDriverAdapterFactory,
  options: ReadRoutingOptions,
): SqlMigrationAwareDriverAdapterFactory {
  return {
    provider: primary.provider,
    adapterName: primary.adapterName,
    connectToShadowDb: () => primary.connectToShadowDb(),
    async connect() {
      const [writer, reader] = await Promise.all([primary.connect(), replica.connect()]);
      return new RoutedAdapter(writer, reader, options);
    },
  };
}

class RoutedAdapter implements SqlDriverAdapter {
  readonly provider: SqlDriverAdapter['provider'];
  readonly adapterName: string;
  private replayed: { at: number; position: Promise<{ position: bigint } | undefined> } | undefined;
  private replicaAwayUntil = 0;
  private markSetAgainAt = 0;

  constructor(
    private readonly writer: SqlDriverAdapter,
    private readonly reader: SqlDriverAdapter,
    private readonly options: ReadRoutingOptions,
  ) {
    this.provider = writer.provider;
    this.adapterName = writer.adapterName;
  }

  async queryRaw(query: SqlQuery): Promise<SqlResultSet> {
    if (!isPlainRead(query.sql)) return this.writing(() => this.writer.queryRaw(query));
    const freshness = await this.replicaFreshness();
    if (freshness !== 'fresh') {
      this.options.onRead?.('primary', freshness);
      return this.writer.queryRaw(query);
    }
    try {
      const result = await this.reader.queryRaw(query);
      this.options.onRead?.('replica', 'fresh');
      return result;
    } catch {
      // The primary answers what the replica could not; a read is safe to send twice.
      this.replicaAwayUntil = Date.now() + (this.options.replicaBackoffMs ?? 2_000);
      this.options.onRead?.('primary', 'replica-failed');
      return this.writer.queryRaw(query);
    }
  }

  executeRaw(query: SqlQuery): Promise<number> {
    return this.writing(() => this.writer.executeRaw(query));
  }

  executeScript(script: string): Promise<void> {
    return this.writing(() => this.writer.executeScript(script));
  }

  async startTransaction(isolationLevel?: IsolationLevel): Promise<Transaction> {
    const transaction = await this.writer.startTransaction(isolationLevel);
    const writing = <T>(work: () => Promise<T>) => this.writing(work);
    return new Proxy(transaction, {
      get(target, property, receiver) {
        // Published after a rollback too: a caller that lost a unique-key race reads next what the winner committed.
        if (property === 'commit' || property === 'rollback') return () => writing(() => target[property]());
        const value = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }

  getConnectionInfo() {
    return this.writer.getConnectionInfo?.() ?? { supportsRelationJoins: true };
  }

  async dispose(): Promise<void> {
    await Promise.allSettled([this.writer.dispose(), this.reader.dispose()]);
  }

  /**
   * Runs a statement on the primary, then publishes how far the primary's log got, before the
   * statement's caller hears back: whether it succeeded or failed (a failed INSERT may have lost a
   * race to a commit its caller reads next).
   */
  private async writing<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } finally {
      await this.published();
    }
  }

  /** Publishes the primary's insert position (it covers every commit so far, whatever synchronous_commit is). */
  private async published(): Promise<void> {
    let position: bigint | undefined;
    try {
      const result = await this.writer.queryRaw({ sql: 'SELECT pg_current_wal_insert_lsn()::text', ...NO_ARGS });
      position = parseLsn(String(result.rows[0]?.[0]));
      await this.options.positions.publish(position);
    } catch (error) {
      this.options.onPublishFailed?.(error);
      // Other processes cannot learn of this write: answer only once the replica holds it (time-boxed), so nobody reads it stale from there.
      if (position !== undefined) await this.replicaHolds(position);
    }
  }

  /** Waits until the replica has replayed `position`, at most `catchUpMs`. */
  private async replicaHolds(position: bigint): Promise<void> {
    const deadline = Date.now() + (this.options.catchUpMs ?? 5_000);
    while (Date.now() < deadline) {
      const replayed = await this.replicaPosition(true);
      if (replayed !== undefined && replayed.position >= position) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  private async replicaFreshness(): Promise<'fresh' | 'behind' | 'unknown'> {
    if (Date.now() < this.replicaAwayUntil) return 'unknown';
    const [required, replayed] = await Promise.all([this.options.positions.required().catch(() => undefined), this.replicaPosition()]);
    if (required === null && Date.now() - this.markSetAgainAt > 1_000) {
      // No mark: nobody can tell how far the replica must be. The primary's position now is a safe one to start from again.
      this.markSetAgainAt = Date.now();
      this.published().catch(() => {});
    }
    if (required === undefined || required === null || replayed === undefined) return 'unknown';
    return replayed.position >= required ? 'fresh' : 'behind';
  }

  /**
   * The replica's replayed position: asked at most every few milliseconds (an older answer is
   * only lower, never wrong), and given up on quickly (a replica that does not answer is left
   * alone for a while).
   */
  private replicaPosition(fresh = false): Promise<{ position: bigint } | undefined> {
    const now = Date.now();
    if (fresh || !this.replayed || now - this.replayed.at >= (this.options.replayPollMs ?? 5)) {
      const timeoutMs = this.options.replayCheckMs ?? 250;
      let timer: NodeJS.Timeout | undefined;
      const asked = this.reader.queryRaw({
        sql: 'SELECT pg_last_wal_replay_lsn()::text',
        ...NO_ARGS,
      });
      const position = Promise.race([
        asked.then((result) => {
          const [lsn] = result.rows[0] ?? [];
          // NULL: not a standby (its positions are not the primary's), so never fresh.
          return lsn ? { position: parseLsn(String(lsn)) } : undefined;
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('the replica did not say where it is in time')), timeoutMs);
          timer.unref();
        }),
      ])
        .catch(() => {
          this.replicaAwayUntil = Date.now() + (this.options.replicaBackoffMs ?? 2_000);
          return undefined;
        })
        .finally(() => clearTimeout(timer));
      asked.catch(() => {});
      this.replayed = { at: now, position };
    }
    return this.replayed.position;
  }
}
