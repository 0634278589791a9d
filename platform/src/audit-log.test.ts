import { appendFileSync, mkdtempSync, readdirSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuditLog, AuditUnavailableError } from './audit-log.js';
import { auditRecord, storableText } from './audit-record.js';
import { createLogger } from './logger.js';

const quiet = createLogger('silent');

/**
 * A stand-in for PostgreSQL's side of the two statements the writer sends: it can be made
 * unreachable, and it refuses what PostgreSQL refuses (NUL in text, 22P05) with the same error shape.
 */
function auditTable() {
  const rows = new Map<string, Record<string, unknown>>();
  const quarantined: { id: string; reason: string; payload: string }[] = [];
  const table = { down: false, calls: 0, slowMs: 0 };
  const refuse = (code: string) =>
    Object.assign(new Error('Raw query failed'), {
      code: 'P2010',
      meta: { driverAdapterError: { cause: { kind: 'postgres', code, originalCode: code } } },
    });
  const db = {
    $executeRawUnsafe: async (sql: string, ...params: unknown[]) => {
      table.calls++;
      if (table.slowMs) await new Promise((resolve) => setTimeout(resolve, table.slowMs));
      if (table.down)
        throw Object.assign(new Error("Can't reach database server"), {
          code: 'P2010',
          meta: { driverAdapterError: { cause: { kind: 'DatabaseNotReachable' } } },
        });
      if (sql.includes('"AuditQuarantine"')) {
        quarantined.push({ id: String(params[0]), reason: String(params[2]), payload: String(params[3]) });
        return 1;
      }
      const batch = JSON.parse(String(params[0])) as Record<string, unknown>[];
      // Stands in for any row the database refuses for its content (a value it cannot store, a constraint).
      if (batch.some((row) => row.resourceType === 'Poison')) throw refuse('22P05');
      for (const row of batch) if (!rows.has(String(row.id))) rows.set(String(row.id), row);
      return batch.length;
    },
  } as never;
  return { db, rows, quarantined, table };
}

const event = (n: number, extra: Record<string, unknown> = {}) => ({
  actorSub: 'prv-1',
  actorRole: 'CLINICIAN',
  purpose: 'TREAT',
  patientId: `pat-${n}`,
  resourceType: 'Patient',
  resourceIds: [`pat-${n}`],
  fieldPaths: ['Patient.name'],
  breakGlassReason: null,
  requestId: `req-${n}`,
  outcome: 'DISCLOSED' as const,
  ...extra,
});

const journalDir = () => mkdtempSync(join(tmpdir(), 'audit-journal-'));

describe('the audit writer', () => {
  it('resolves a write only once its events are in the database', async () => {
    const { db, rows, table } = auditTable();
    table.slowMs = 30;
    const log = new AuditLog(db, { log: quiet });
    let settled = false;
    const written = log.write([event(1)]).then(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(settled).toBe(false);
    expect(rows.size).toBe(0);
    await written;
    expect(rows.size).toBe(1);
  });

  it('group-commits: writes arriving while one batch is in flight share the next INSERT', async () => {
    const { db, rows, table } = auditTable();
    table.slowMs = 20;
    const log = new AuditLog(db, { log: quiet });
    await Promise.all(Array.from({ length: 50 }, (_, n) => log.write([event(n)])));
    expect(rows.size).toBe(50);
    expect(table.calls).toBeLessThanOrEqual(3);
  });

  it('journals (fsync) what the database cannot take, and ships it exactly once when the database answers again', async () => {
    const dir = journalDir();
    const { db, rows, table } = auditTable();
    const log = new AuditLog(db, { journalDir: dir, service: 'test', retryMs: 20, log: quiet });
    table.down = true;
    await log.write([event(1), event(2)]); // durable in the journal: resolves although the database is down
    await log.write([event(3)]);
    expect(rows.size).toBe(0);
    expect(log.journalBacklog).toBe(3);
    expect(readdirSync(dir).filter((f) => f.endsWith('.jsonl'))).toHaveLength(1);
    table.down = false;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect([...rows.keys()].length).toBe(3);
    expect(log.journalBacklog).toBe(0);
    expect(readdirSync(dir).filter((f) => f.endsWith('.jsonl'))).toHaveLength(0);
    await log.write([event(4)]); // and writes go straight to the database again
    expect(rows.size).toBe(4);
    await log.close();
  });

  it('ships a journal left by a process that was killed, at the next start, skipping a line the crash cut short', async () => {
    const dir = journalDir();
    const down = auditTable();
    down.table.down = true;
    const killed = new AuditLog(down.db, { journalDir: dir, service: 'test', log: quiet });
    await killed.write([event(1), event(2)]);
    // The process dies here, without closing; its last write was cut short mid-line (never acknowledged).
    const [file] = readdirSync(dir).filter((f) => f.endsWith('.jsonl'));
    appendFileSync(join(dir, file!), '{"id":"torn","at":"2026-');
    const renamed = join(dir, file!.replace(`.${process.pid}.`, '.999999999.'));
    renameSync(join(dir, file!), renamed);

    const up = auditTable();
    const next = new AuditLog(up.db, { journalDir: dir, service: 'test', log: quiet });
    expect(await next.replay()).toBe(2);
    expect([...up.rows.values()].map((row) => row.patientId).sort()).toEqual(['pat-1', 'pat-2']);
    expect(next.stats.torn).toBe(1);
    expect(readdirSync(dir).filter((f) => f.endsWith('.jsonl'))).toEqual([]);
    // Shipped twice (say a crash after the insert, before the file was removed), each event is stored once.
    expect(await next.replay()).toBe(0);
    await next.close();
  });

  it('quarantines an event the database refuses and writes every other event of its batch', async () => {
    const { db, rows, quarantined } = auditTable();
    const log = new AuditLog(db, { log: quiet });
    await log.write([event(1), event(2), event(99, { resourceType: 'Poison' }), event(3)]);
    expect([...rows.values()].map((row) => row.patientId).sort()).toEqual(['pat-1', 'pat-2', 'pat-3']);
    expect(quarantined).toHaveLength(1);
    expect(quarantined[0]!.reason).toBe('SQLSTATE 22P05');
    expect(JSON.parse(Buffer.from(quarantined[0]!.payload, 'base64').toString('utf8')).patientId).toBe('pat-99');
    expect(log.stats.quarantined).toBe(1);
  });

  it('refuses, rather than loses, events that can be stored nowhere', async () => {
    const { db, table } = auditTable();
    table.down = true;
    const log = new AuditLog(db, { log: quiet }); // no journal
    await expect(log.write([event(1)])).rejects.toBeInstanceOf(AuditUnavailableError);
    expect(log.stats.refused).toBe(1);
  });

  it('bounds what waits in memory and says so', async () => {
    const { db, table } = auditTable();
    table.slowMs = 50;
    const log = new AuditLog(db, { maxBacklog: 3, maxBatch: 1, log: quiet });
    const first = log.write([event(1)]);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const fits = log.write([event(2), event(3)]);
    await expect(log.write([event(4), event(5)])).rejects.toBeInstanceOf(AuditUnavailableError);
    await Promise.all([first, fits]);
  });

  it('queued mode (the benchmark baseline) resolves at once and writes in the background', async () => {
    const { db, rows } = auditTable();
    const log = new AuditLog(db, { mode: 'queued', flushMs: 10, log: quiet });
    await log.write([event(1)]);
    expect(rows.size).toBe(0);
    await log.flush();
    expect(rows.size).toBe(1);
  });
});

describe('storable text', () => {
  it('writes NUL and lone surrogates out as escapes, cuts over-long values, and says it did', () => {
    expect(storableText('a\u0000b')).toEqual({ text: 'a\\u0000b', changed: true });
    expect(storableText('x\ud800y')).toEqual({ text: 'x\\ud800y', changed: true });
    expect(storableText('ok \ud83d\ude00')).toEqual({ text: 'ok \ud83d\ude00', changed: false }); // a real pair stays
    expect(storableText('y'.repeat(600)).text).toMatch(/…\[cut from 600 characters\]$/);
  });

  it('marks a record whose caller-supplied values had to change', () => {
    const record = auditRecord(event(1, { patientId: '\u0000', resourceIds: ['\ud800'] }));
    expect(record.patientId).toBe('\\u0000');
    expect(record.resourceIds).toEqual(['\\ud800']);
    expect(record.sanitized).toBe(true);
    expect(JSON.stringify(record)).not.toMatch(/\\u0000(?!")|\\ud800(?!")/);
    expect(auditRecord(event(2)).sanitized).toBe(false);
  });
});
