import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuditLog } from './audit-log.js';

/** A stand-in for the database's batch insert that can be told to fail; returns what it stored. */
function auditTable() {
  const rows: { id: string }[] = [];
  const table = { failing: false, calls: 0 };
  const prisma = {
    $executeRawUnsafe: async (_sql: string, json: string) => {
      table.calls++;
      if (table.failing) throw new Error('database unavailable');
      const data = JSON.parse(json) as { id: string }[];
      rows.push(...data);
      return data.length;
    },
  } as never;
  return [prisma, rows, table] as const;
}

const event = (n: number) => ({
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
});

describe('the audit writer', () => {
  it('writes events in batches', async () => {
    const [prisma, rows, table] = auditTable();
    const log = new AuditLog(prisma, { maxBatch: 2 });
    for (let n = 0; n < 5; n++) log.record(event(n));
    await log.flush();
    expect(rows).toHaveLength(5);
    expect(table.calls).toBe(3);
  });

  it('keeps events through a failed write and writes them once the database is back', async () => {
    const [prisma, rows, table] = auditTable();
    const log = new AuditLog(prisma);
    table.failing = true;
    log.record(event(1));
    await expect(log.flush()).rejects.toThrow();
    expect(log.backlog).toBe(1);
    table.failing = false;
    log.record(event(2));
    await log.flush();
    expect(rows.map((r) => (r as unknown as { patientId: string }).patientId)).toEqual(['pat-1', 'pat-2']);
    expect(log.backlog).toBe(0);
  });

  it('spills what the database refuses at shutdown, and replays it at the next start', async () => {
    const spillPath = join(mkdtempSync(join(tmpdir(), 'audit-')), 'spill.jsonl');
    const [down, , table] = auditTable();
    table.failing = true;
    const before = new AuditLog(down, { spillPath });
    before.record(event(1));
    before.record(event(2));
    await before.close();
    expect(readFileSync(spillPath, 'utf8').trim().split('\n')).toHaveLength(2);

    const [up, rows] = auditTable();
    const after = new AuditLog(up, { spillPath });
    expect(await after.replaySpill()).toBe(2);
    expect(rows).toHaveLength(2);
    expect(existsSync(spillPath)).toBe(false);
  });

  it('flushes on its own shortly after an event is recorded', async () => {
    const [prisma, rows] = auditTable();
    const log = new AuditLog(prisma, { flushMs: 10 });
    log.record(event(1));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(rows).toHaveLength(1);
  });
});
