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
  /** The highest position a writer has published; undefined when it cannot be known now (the read goes to the primary). */
  required(): Promise<bigint | undefined>;
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

/**
 * Whether a statement only reads, and so may go to the replica: a SELECT (after any comments)
 * that takes no row locks. Everything else (writes, `INSERT ... RETURNING`, `WITH`, locking
 * reads) goes to the primary, and so does every statement of a transaction.
 */
export function isPlainRead(sql: string): boolean {
  const text = sql.replace(/^(?:\s+|--[^\n]*\n|\/\*[\s\S]*?\*\/)*/, '');
  return /^select\b/i.test(text) && !/\bfor\s+(?:update|no\s+key\s+update|share|key\s+share)\b/i.test(text);
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
  private replayed: { at: number; position: Promise<bigint | undefined> } | undefined;
  private replicaAwayUntil = 0;

  constructor(
    private readonly writer: SqlDriverAdapter,
    private readonly reader: SqlDriverAdapter,
    private readonly options: ReadRoutingOptions,
  ) {
    this.provider = writer.provider;
    this.adapterName = writer.adapterName;
  }

  async queryRaw(query: SqlQuery): Promise<SqlResultSet> {
    if (!isPlainRead(query.sql)) {
      const result = await this.writer.queryRaw(query);
      await this.published();
      return result;
    }
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

  async executeRaw(query: SqlQuery): Promise<number> {
    const count = await this.writer.executeRaw(query);
    await this.published();
    return count;
  }

  async executeScript(script: string): Promise<void> {
    await this.writer.executeScript(script);
    await this.published();
  }

  async startTransaction(isolationLevel?: IsolationLevel): Promise<Transaction> {
    const transaction = await this.writer.startTransaction(isolationLevel);
    const published = () => this.published();
    return new Proxy(transaction, {
      get(target, property, receiver) {
        if (property === 'commit')
          return async () => {
            await target.commit();
            await published();
          };
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

  /** After a write: how far the primary's log got, published before the write returns to its caller. */
  private async published(): Promise<void> {
    try {
      const result = await this.writer.queryRaw({ sql: 'SELECT pg_current_wal_lsn()::text', ...NO_ARGS });
      await this.options.positions.publish(parseLsn(String(result.rows[0]?.[0])));
    } catch (error) {
      this.options.onPublishFailed?.(error);
    }
  }

  private async replicaFreshness(): Promise<'fresh' | 'behind' | 'unknown'> {
    if (Date.now() < this.replicaAwayUntil) return 'unknown';
    const [required, replayed] = await Promise.all([this.options.positions.required().catch(() => undefined), this.replayedPosition()]);
    if (required === undefined || replayed === undefined) return 'unknown';
    return replayed >= required ? 'fresh' : 'behind';
  }

  /** The replica's replayed position: asked at most every few milliseconds (an older answer is only lower, never wrong). */
  private replayedPosition(): Promise<bigint | undefined> {
    const now = Date.now();
    if (!this.replayed || now - this.replayed.at >= (this.options.replayPollMs ?? 5)) {
      const position = this.reader
        .queryRaw({ sql: 'SELECT pg_last_wal_replay_lsn()::text', ...NO_ARGS })
        // NULL: not a standby (its positions are not the primary's), so never fresh.
        .then((result) => (result.rows[0]?.[0] ? parseLsn(String(result.rows[0][0])) : undefined))
        .catch(() => {
          this.replicaAwayUntil = Date.now() + (this.options.replicaBackoffMs ?? 2_000);
          return undefined;
        });
      this.replayed = { at: now, position };
    }
    return this.replayed.position;
  }
}
