import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditJournal, type JournalOwner } from './audit-journal.js';
import { auditRecord } from './audit-record.js';

const record = (n: number) =>
  auditRecord({
    actorSub: 'prv-1',
    actorRole: 'CLINICIAN',
    purpose: 'TREAT',
    patientId: `pat-${n}`,
    resourceType: 'Patient',
    resourceIds: [`pat-${n}`],
    fieldPaths: ['Patient.name'],
    breakGlassReason: null,
    requestId: `req-${n}`,
    outcome: 'DISCLOSED',
  });

const opened: AuditJournal[] = [];
const journal = (dir: string, owner: JournalOwner, alive: (pid: number) => boolean = () => false) => {
  const made = new AuditJournal(dir, 'gateway', owner, alive);
  opened.push(made);
  return made;
};
afterEach(async () => {
  for (const made of opened.splice(0)) await made.close();
});

const shipped = (j: AuditJournal, paths: string[]) => paths.flatMap((path) => j.read(path).records.map((r) => r.patientId));

describe('the audit journal: which files a process may ship', () => {
  it('a restarted container (pid 1 again, new boot id) ships what its previous life journaled', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'journal-'));
    const before = journal(dir, { host: 'gateway-0', pid: 1, boot: 'aaaaaaaa' });
    await before.append([record(1), record(2)]);
    await before.close(); // the container is killed; its volume stays

    const after = journal(dir, { host: 'gateway-0', pid: 1, boot: 'bbbbbbbb' });
    const claimed = after.claimClosed();
    expect(shipped(after, claimed)).toEqual(['pat-1', 'pat-2']);
    expect(readdirSync(dir)).toEqual([expect.stringMatching(/^audit-gateway-gateway-0\.1\.bbbbbbbb-\d+\.jsonl$/)]);
  });

  it('two pods with pid 1 on one shared volume never take each other’s files, open or closed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'journal-'));
    const first = journal(dir, { host: 'gateway-0', pid: 1, boot: 'aaaaaaaa' });
    await first.append([record(1)]); // still open: gateway-0 is writing it
    const second = journal(dir, { host: 'gateway-1', pid: 1, boot: 'cccccccc' });
    expect(second.claimClosed()).toEqual([]);
    await first.append([record(2)]);
    const closed = await first.rotate();
    expect(second.claimClosed()).toEqual([]);
    expect(shipped(first, first.claimClosed())).toEqual(['pat-1', 'pat-2']);
    expect(closed).toBeDefined();
  });

  it('on one host: a live sibling’s files are left alone, a dead one’s are claimed once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'journal-'));
    const live = new Set([200]);
    const sibling = journal(dir, { host: 'node-a', pid: 200, boot: 'dddddddd' });
    await sibling.append([record(1)]);
    await sibling.rotate();
    const me = journal(dir, { host: 'node-a', pid: 100, boot: 'eeeeeeee' }, (pid) => live.has(pid));
    expect(me.claimClosed()).toEqual([]);
    live.delete(200); // the sibling was killed
    const claimed = me.claimClosed();
    expect(shipped(me, claimed)).toEqual(['pat-1']);
    const other = journal(dir, { host: 'node-a', pid: 300, boot: 'ffffffff' }, (pid) => pid === 100);
    expect(other.claimClosed()).toEqual([]); // now mine, and I am alive
  });

  it('two writers in one process with one folder leave each other’s open files alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'journal-'));
    const one = journal(dir, { host: 'node-a', pid: process.pid, boot: '11111111' });
    await one.append([record(1)]);
    const two = journal(dir, { host: 'node-a', pid: process.pid, boot: '22222222' });
    expect(two.claimClosed()).toEqual([]);
  });

  it('claims the files of earlier versions, named by pid only, when that pid is gone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'journal-'));
    const line = `${JSON.stringify({ ...record(7), at: new Date().toISOString() })}\n`;
    writeFileSync(join(dir, 'audit-gateway-4242-000001.jsonl'), line);
    writeFileSync(join(dir, 'audit-gateway-4343-000001.jsonl'), line);
    writeFileSync(join(dir, 'audit-spill-gateway.jsonl'), line);
    writeFileSync(join(dir, 'audit-patients-4242-000001.jsonl'), line); // another service's: not ours to ship
    const me = journal(dir, { host: 'node-a', pid: 100, boot: 'eeeeeeee' }, (pid) => pid === 4343);
    const claimed = me.claimClosed();
    expect(claimed).toHaveLength(2);
    expect(readdirSync(dir).sort()).toEqual(
      expect.arrayContaining(['audit-gateway-4343-000001.jsonl', 'audit-patients-4242-000001.jsonl']),
    );
    expect(shipped(me, claimed)).toEqual(['pat-7', 'pat-7']);
  });
});
