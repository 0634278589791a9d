import { ensureAuditPartitions, type PrismaClient } from '@healthgraph/db';
import { AuditJournal } from './audit-journal.js';
import { type AuditInput, type AuditRecord, auditRecord, sanitizeAuditRecord } from './audit-record.js';
import type { PlatformConfig } from './config.js';
import { isDataError, sqlStateOf } from './database-errors.js';
import { type Logger, logger as processLogger } from './logger.js';
import { counter, gauge, histogram, SECONDS_BUCKETS } from './metrics.js';
import { withTimeout } from './timeout.js';

export * from './audit-record.js';

const auditMetrics = {
  write: histogram(
    'healthgraph_audit_write_seconds',
    'Time to make one batch of audit events durable (database or journal)',
    SECONDS_BUCKETS,
    ['store'] as const,
  ),
  backlog: gauge('healthgraph_audit_backlog', 'Audit events waiting to be made durable, in memory'),
  journal: gauge('healthgraph_audit_journal_events', 'Audit events durable in the local journal and not yet in the database'),
  failures: counter('healthgraph_audit_write_failures_total', 'Audit batches the database did not take, by reason', ['reason'] as const),
  quarantined: counter('healthgraph_audit_quarantined_total', 'Audit events set aside because the database refused their content'),
  replayed: counter('healthgraph_audit_journal_replayed_total', 'Audit events shipped from the journal to the database'),
  refused: counter(
    'healthgraph_audit_refused_total',
    'Audit events that could be made durable nowhere (the response carrying them was withheld)',
  ),
};

/** No durable record could be made: the caller must not be given the PHI this record was for. */
export class AuditUnavailableError extends Error {}

/**
 * A whole batch in one INSERT, its rows as one JSON parameter: nothing to compile on the event
 * loop (a 500-row Prisma createMany spent about 120 ms there). The timestamp column holds UTC, as
 * Prisma writes it. Inserts are idempotent by event id, so a batch that is written twice (a lost
 * acknowledgement, a journal shipped again after a crash) stores each event once.
 */
const INSERT_BATCH = `INSERT INTO "AuditEvent" ("id", "at", "actorSub", "actorRole", "purpose", "patientId", "resourceType", "resourceIds", "fieldPaths", "breakGlassReason", "requestId", "correlationId", "outcome", "sanitized")
SELECT "id", "at", "actorSub", "actorRole", "purpose", "patientId", "resourceType", "resourceIds", "fieldPaths", "breakGlassReason", "requestId", "correlationId", "outcome", "sanitized"
FROM jsonb_to_recordset($1::jsonb) AS r("id" text, "at" timestamp(3), "actorSub" text, "actorRole" text, "purpose" text, "patientId" text,
  "resourceType" text, "resourceIds" text[], "fieldPaths" text[], "breakGlassReason" text, "requestId" text, "correlationId" text, "outcome" text, "sanitized" boolean)
ON CONFLICT DO NOTHING`;

/** An event the database refused, kept whole (base64 of its JSON, which any text column takes) with the reason. */
const QUARANTINE = `INSERT INTO "AuditQuarantine" ("id", "at", "reason", "payload") VALUES ($1, $2::timestamp(3), $3, $4) ON CONFLICT DO NOTHING`;

export interface AuditLogOptions {
  /** The service writing (names the journal files: one writer per process). */
  service?: string;
  /** Folder of the local journal that takes events while the database cannot; without one a database failure is a refusal. */
  journalDir?: string;
  /**
   * `durable` (the default): `write` resolves once the events are in the database or fsync'd in
   * the journal. `queued`: `write` resolves at once and events go to the database in the
   * background, as a benchmark baseline only: a crash loses what is queued.
   */
  mode?: 'durable' | 'queued';
  /** Largest batch per INSERT. */
  maxBatch?: number;
  /** Longest wait for the database before a batch goes to the journal instead. */
  databaseTimeoutMs?: number;
  /** Most events waiting in memory; beyond it writes are refused (and an operator alerted). */
  maxBacklog?: number;
  /** First wait before retrying the database while events sit in the journal (doubles, up to 30 s). */
  retryMs?: number;
  /** In queued mode, how long an event may wait before its batch is written. */
  flushMs?: number;
  log?: Logger;
}

interface Pending {
  record: AuditRecord;
  done: () => void;
  fail: (error: Error) => void;
}

const liveLogs = new Set<AuditLog>();
const reportBacklog = () => auditMetrics.backlog.set([...liveLogs].reduce((n, log) => n + log.backlog, 0));

/**
 * The append-only audit writer. A response carrying PHI is released only after its events are
 * durable: `write` resolves once they are committed in PostgreSQL or, while the database cannot
 * take them, appended and fsync'd to a local journal that is shipped to the database as soon as it
 * answers again (idempotent by event id, so exactly once). Writes are group-committed: while one
 * batch is being written the next ones gather, so under load many requests share one INSERT.
 *
 * No event can block another: every string is made storable before it is queued, and a batch the
 * database refuses for its content is split until the bad event is found, which is set aside in
 * AuditQuarantine (counted, logged at error) while every other event is written.
 */
export class AuditLog {
  private readonly pending: Pending[] = [];
  private draining: Promise<void> | undefined;
  private readonly journal: AuditJournal | undefined;
  /** Whether the last database write succeeded; while false, batches go straight to the journal. */
  private databaseUp = true;
  private journalEvents = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelay: number;
  private shipping: Promise<void> | undefined;
  private closed = false;
  private readonly log: Logger;
  private readonly mode: 'durable' | 'queued';
  private readonly maxBatch: number;
  private readonly databaseTimeoutMs: number;
  private readonly maxBacklog: number;
  private readonly retryMs: number;
  private readonly flushMs: number;
  /** Observable for tests and metrics. */
  readonly stats = { written: 0, journaled: 0, replayed: 0, quarantined: 0, failedWrites: 0, refused: 0, torn: 0 };

  constructor(
    private readonly db: Pick<PrismaClient, '$executeRawUnsafe'>,
    {
      service = 'healthgraph',
      journalDir,
      mode = 'durable',
      maxBatch = 500,
      databaseTimeoutMs = 2_000,
      maxBacklog = 50_000,
      retryMs = 250,
      flushMs = 250,
      log = processLogger,
    }: AuditLogOptions = {},
  ) {
    this.journal = journalDir ? new AuditJournal(journalDir, service) : undefined;
    this.mode = mode;
    this.maxBatch = maxBatch;
    this.databaseTimeoutMs = databaseTimeoutMs;
    this.maxBacklog = maxBacklog;
    this.retryMs = retryMs;
    this.retryDelay = retryMs;
    this.flushMs = flushMs;
    this.log = log;
    liveLogs.add(this);
  }

  /** Events waiting in memory to be made durable. */
  get backlog(): number {
    return this.pending.length;
  }

  /** Events durable in the journal and not yet in the database. */
  get journalBacklog(): number {
    return this.journalEvents;
  }

  /**
   * Makes these events durable; resolves when they are (in durable mode). Rejects with an
   * AuditUnavailableError when they could be stored nowhere: the caller must then withhold
   * whatever the events were for.
   */
  write(events: readonly (AuditInput | AuditRecord)[]): Promise<void> {
    if (events.length === 0) return Promise.resolve();
    const records = events.map((event) =>
      'sanitized' in event && 'id' in event ? sanitizeAuditRecord(event as AuditRecord) : auditRecord(event),
    );
    if (this.closed) return Promise.reject(this.refuse(records.length, 'the audit writer is closed'));
    if (this.pending.length + records.length > this.maxBacklog) {
      return Promise.reject(this.refuse(records.length, `more than ${this.maxBacklog} audit events are waiting`));
    }
    const durable = new Promise<void>((resolve, reject) => {
      let left = records.length;
      let failed = false;
      const done = () => {
        if (--left === 0 && !failed) resolve();
      };
      const fail = (error: Error) => {
        if (failed) return;
        failed = true;
        reject(error);
      };
      for (const record of records) this.pending.push({ record, done, fail });
    });
    reportBacklog();
    this.startDraining(this.mode === 'queued' ? this.flushMs : 0);
    if (this.mode === 'queued') {
      // Not awaited by the caller: a failure is logged and counted, never thrown at a request.
      durable.catch(() => {});
      return Promise.resolve();
    }
    return durable;
  }

  /** Records events without waiting (refusals that disclose nothing, the gateway's own decisions). Failures are logged. */
  record(event: AuditInput): void {
    this.write([event]).catch((error: unknown) =>
      this.log.error({ reason: (error as Error).message }, 'audit event could not be recorded'),
    );
  }

  private refuse(count: number, reason: string): AuditUnavailableError {
    this.stats.refused += count;
    auditMetrics.refused.inc(count);
    this.log.error({ events: count, reason }, 'audit events could not be made durable: the responses they belong to are withheld');
    return new AuditUnavailableError(reason);
  }

  private startDraining(delay: number): void {
    if (this.draining || this.pending.length === 0) return;
    this.draining = this.drain(delay).finally(() => {
      this.draining = undefined;
      this.startDraining(0); // whatever arrived while the last batch was written
    });
  }

  /** Writes batches until nothing waits; each batch's events resolve or fail together. */
  private async drain(delay: number): Promise<void> {
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay).unref());
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.maxBatch);
      reportBacklog();
      try {
        await this.persist(batch.map((p) => p.record));
        for (const p of batch) p.done();
      } catch (error) {
        const refused = this.refuse(batch.length, (error as Error).message);
        for (const p of batch) p.fail(refused);
      }
    }
  }

  /** The database while it answers; the journal while it does not; a refusal when neither can take the events. */
  private async persist(records: AuditRecord[]): Promise<void> {
    const started = performance.now();
    if (this.databaseUp) {
      try {
        await withTimeout(this.insert(records), this.databaseTimeoutMs, 'the audit database');
        this.stats.written += records.length;
        auditMetrics.write.observe({ store: 'database' }, (performance.now() - started) / 1000);
        return;
      } catch (error) {
        this.stats.failedWrites++;
        auditMetrics.failures.inc({ reason: 'unavailable' });
        this.databaseUp = false;
        this.log.warn(
          { events: records.length, sqlState: sqlStateOf(error), journal: Boolean(this.journal) },
          this.journal
            ? 'audit database unavailable: events go to the local journal until it answers'
            : 'audit database unavailable and no journal is configured',
        );
        if (!this.journal) throw error;
      }
    }
    if (!this.journal) throw new Error('the audit database is unavailable and no journal is configured');
    await this.journal.append(records);
    this.journalEvents += records.length;
    this.stats.journaled += records.length;
    auditMetrics.journal.set(this.journalEvents);
    auditMetrics.write.observe({ store: 'journal' }, (performance.now() - started) / 1000);
    this.scheduleShipping();
  }

  /**
   * Inserts a batch; when the database refuses its content, splits it until the refused events are
   * found and quarantines those alone, so one bad event never keeps the others out. Rejects only
   * when the database cannot be reached.
   */
  private async insert(records: AuditRecord[]): Promise<void> {
    try {
      await this.db.$executeRawUnsafe(INSERT_BATCH, JSON.stringify(records));
    } catch (error) {
      if (!isDataError(error)) throw error;
      auditMetrics.failures.inc({ reason: 'data' });
      if (records.length === 1) return this.quarantine(records[0]!, error);
      const half = Math.ceil(records.length / 2);
      await this.insert(records.slice(0, half));
      await this.insert(records.slice(half));
    }
  }

  private async quarantine(record: AuditRecord, error: unknown): Promise<void> {
    const reason = `SQLSTATE ${sqlStateOf(error) ?? 'unknown'}`;
    const payload = Buffer.from(JSON.stringify(record), 'utf8').toString('base64');
    await this.db.$executeRawUnsafe(QUARANTINE, record.id, record.at.toISOString(), reason, payload);
    this.stats.quarantined++;
    auditMetrics.quarantined.inc();
    this.log.error(
      { eventId: record.id, reason },
      'audit event quarantined: the database refused its content; it is kept in AuditQuarantine',
    );
  }

  private scheduleShipping(): void {
    if (this.retryTimer || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.ship().catch(() => {});
    }, this.retryDelay);
    this.retryTimer.unref();
  }

  /**
   * Ships every closed journal file to the database (this process's and any a dead process left),
   * rotating the current one first. On success the database is trusted again; on failure the
   * events stay in the journal and shipping is retried with back-off.
   */
  ship(): Promise<void> {
    if (!this.journal) return Promise.resolve();
    this.shipping ??= (async () => {
      const journal = this.journal!;
      try {
        await journal.rotate();
        for (const path of journal.claimClosed()) {
          const segment = journal.read(path);
          if (segment.torn > 0) {
            this.stats.torn += segment.torn;
            this.log.warn(
              { lines: segment.torn },
              'audit journal: lines cut short by a crash before their fsync returned (never acknowledged) were skipped',
            );
          }
          for (let offset = 0; offset < segment.records.length; offset += this.maxBatch) {
            const batch = segment.records.slice(offset, offset + this.maxBatch).map(sanitizeAuditRecord);
            await withTimeout(this.insert(batch), this.databaseTimeoutMs, 'the audit database');
          }
          journal.remove(path);
          const shipped = segment.records.length;
          this.journalEvents = Math.max(0, this.journalEvents - shipped);
          this.stats.replayed += shipped;
          auditMetrics.replayed.inc(shipped);
          auditMetrics.journal.set(this.journalEvents);
          if (shipped > 0) this.log.info({ events: shipped }, 'audit journal shipped to the database');
        }
        if (!this.databaseUp) this.log.info({}, 'audit database answers again: events go to it directly');
        this.databaseUp = true;
        this.retryDelay = this.retryMs;
        // Files of a writer that may still be alive (another host's, until its lease lapses) are looked at again.
        if (journal.dirty || journal.waiting > 0) this.scheduleShipping();
      } catch (error) {
        this.retryDelay = Math.min(this.retryDelay * 2, 30_000);
        this.log.warn(
          { sqlState: sqlStateOf(error), journalEvents: this.journalEvents, retryInMs: this.retryDelay },
          'audit journal not shipped yet: the database does not answer',
        );
        this.scheduleShipping();
        throw error;
      } finally {
        this.shipping = undefined;
      }
    })();
    return this.shipping;
  }

  /**
   * At start, before serving: ships what earlier runs left in the journal. Never fails start-up:
   * if the database does not answer, the events stay in the journal and are shipped later.
   */
  async replay(): Promise<number> {
    const before = this.stats.replayed;
    await this.ship().catch(() => {});
    return this.stats.replayed - before;
  }

  /** Waits until every event written so far is durable, and ships the journal if the database answers. */
  async flush(): Promise<void> {
    while (this.draining !== undefined) await this.draining;
    if (this.journal && this.journalEvents > 0) await this.ship().catch(() => {});
  }

  /**
   * Clean shutdown: writes what is waiting (to the database, or the journal), tries once more to
   * ship the journal, and closes it. Whatever is still in the journal is shipped at the next start.
   */
  async close(): Promise<void> {
    this.startDraining(0);
    while (this.draining !== undefined) await this.draining;
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (this.journal && this.journalEvents > 0) await this.ship().catch(() => {});
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await this.journal?.close();
    liveLogs.delete(this);
    reportBacklog();
  }
}

/**
 * Writes audit events inside the caller's database transaction: a write and its audit event commit
 * together or not at all (used for every write: bookings, consents, records).
 */
export async function auditInTransaction(tx: Pick<PrismaClient, '$executeRawUnsafe'>, events: readonly AuditInput[]): Promise<void> {
  if (events.length === 0) return;
  await tx.$executeRawUnsafe(INSERT_BATCH, JSON.stringify(events.map(auditRecord)));
}

/** The audit writer a service's configuration asks for, with what earlier runs left in the journal shipped first. */
export async function openAuditLog(
  db: Pick<PrismaClient, '$executeRawUnsafe' | '$queryRawUnsafe'>,
  config: Pick<PlatformConfig, 'audit'>,
  service: string,
  log: Logger = processLogger,
): Promise<AuditLog> {
  // The months ahead must exist before the first event of a new month arrives; the daily job
  // makes them too. A database that is down now is no reason not to start: the journal takes events.
  try {
    const created = await ensureAuditPartitions(db, { partitionsAhead: config.audit.partitionsAhead ?? 3 });
    if (created) log.info({ created }, 'audit partitions created ahead');
  } catch (error) {
    log.warn({ sqlState: sqlStateOf(error) }, 'audit partitions could not be checked at start-up');
  }
  const audit = new AuditLog(db, { service, journalDir: config.audit.journalDir, mode: config.audit.mode, log });
  await audit.replay();
  return audit;
}
