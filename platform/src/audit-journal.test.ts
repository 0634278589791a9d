import { mkdtempSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditJournal, type JournalOwner, LEASE_EXPIRES_MS } from './audit-journal.js';
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

const folder = () => mkdtempSync(join(tmpdir(), 'journal-'));
const shipped = (j: AuditJournal, paths: string[]) => paths.flatMap((path) => j.read(path).records.map((r) => r.patientId));
/** What a SIGKILL leaves: the writer's files and a lease nobody renews any more. */
const killed = (dir: string, owner: string) => {
  const gone = new Date(Date.now() - LEASE_EXPIRES_MS - 1_000);
  utimesSync(join(dir, `audit-gateway-${owner}.lease`), gone, gone);
};

describe('the audit journal: which files a writer may ship', () => {
  it('a container restarted as pid 1 again ships what its previous life journaled, at its first look', async () => {
    const dir = folder();
    const before = journal(dir, { host: 'gateway-0', pid: 1, boot: 'aaaaaaaa' });
    await before.append([record(1), record(2)]);
    await before.close(); // that process is gone (a new container's process knows of no journal but its own)
    const after = journal(dir, { host: 'gateway-0', pid: 1, boot: 'bbbbbbbb' });
    expect(shipped(after, after.claimClosed())).toEqual(['pat-1', 'pat-2']);
  });

  it('a container recreated under a new host name (compose) ships its predecessor’s events once the old lease has lapsed', async () => {
    const dir = folder();
    const before = journal(dir, { host: '3f2a9c1b7d4e', pid: 1, boot: 'aaaaaaaa' });
    await before.append([record(1)]);
    const after = journal(dir, { host: '9be01c77a2f0', pid: 1, boot: 'cccccccc' });
    expect(after.claimClosed()).toEqual([]); // its lease is fresh: that writer may be alive
    expect(after.waiting).toBe(1); // so the writer looks again later
    killed(dir, '3f2a9c1b7d4e.1.aaaaaaaa');
    expect(shipped(after, after.claimClosed())).toEqual(['pat-1']);
    expect(after.waiting).toBe(0);
  });

  it('a writer that closed cleanly leaves its unshipped files free to be claimed at once', async () => {
    const dir = folder();
    const before = journal(dir, { host: 'node-a', pid: 7, boot: 'aaaaaaaa' });
    await before.append([record(1)]);
    await before.close();
    const after = journal(dir, { host: 'node-a', pid: 8, boot: 'bbbbbbbb' });
    expect(shipped(after, after.claimClosed())).toEqual(['pat-1']);
  });

  it('two pods with pid 1 sharing a volume, or two writers in one process, never take each other’s files, open or closed', async () => {
    const dir = folder();
    const first = journal(dir, { host: 'gateway-0', pid: 1, boot: 'aaaaaaaa' });
    await first.append([record(1)]);
    const second = journal(dir, { host: 'gateway-1', pid: 1, boot: 'cccccccc' });
    const third = journal(dir, { host: 'gateway-0', pid: 1, boot: 'dddddddd' }); // same host and pid, another writer
    expect(second.claimClosed()).toEqual([]);
    expect(third.claimClosed()).toEqual([]);
    await first.rotate();
    await first.append([record(2)]);
    expect(second.claimClosed()).toEqual([]);
    expect(third.claimClosed()).toEqual([]);
    await first.rotate();
    expect(shipped(first, first.claimClosed())).toEqual(['pat-1', 'pat-2']);
  });

  it('a rotation while an append is on its way never closes the file under it: every acknowledged event is in a closed file', async () => {
    const dir = folder();
    const j = journal(dir, { host: 'node-a', pid: 9, boot: 'eeeeeeee' });
    const appends = Array.from({ length: 20 }, (_, n) => j.append([record(n)]));
    const rotations = Array.from({ length: 5 }, () => j.rotate());
    await Promise.all([...appends, ...rotations]);
    await j.rotate();
    expect(shipped(j, j.claimClosed()).sort()).toEqual(Array.from({ length: 20 }, (_, n) => `pat-${n}`).sort());
  });

  it('files of earlier versions (pid only, no lease): taken from a pid that is gone, or once unchanged as long as a lease lives', async () => {
    const dir = folder();
    const line = `${JSON.stringify({ ...record(7), at: new Date().toISOString() })}\n`;
    writeFileSync(join(dir, 'audit-gateway-4242-000001.jsonl'), line); // pid 4242 is gone
    writeFileSync(join(dir, 'audit-gateway-4343-000001.jsonl'), line); // pid 4343 runs
    writeFileSync(join(dir, 'audit-gateway-1-000001.jsonl'), line); // pid 1: maybe an old writer on a shared volume
    writeFileSync(join(dir, 'audit-patients-4242-000001.jsonl'), line); // another service's: not ours to ship
    const me = journal(dir, { host: 'node-a', pid: 1, boot: 'eeeeeeee' }, (pid) => pid === 4343);
    expect(me.claimClosed()).toHaveLength(1);
    const old = new Date(Date.now() - LEASE_EXPIRES_MS - 1_000);
    for (const name of ['audit-gateway-4343-000001.jsonl', 'audit-gateway-1-000001.jsonl']) utimesSync(join(dir, name), old, old);
    expect(me.claimClosed()).toHaveLength(3);
    expect(readdirSync(dir)).toContain('audit-patients-4242-000001.jsonl');
  });
});
