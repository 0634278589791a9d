import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { AuditRecord } from './audit-record.js';

/** A journal line as written: the record with its time as ISO text. */
type Line = Omit<AuditRecord, 'at' | 'correlationId' | 'sanitized'> & { at: string; correlationId?: string | null; sanitized?: boolean };

/** One closed journal file and the records it holds (lines a crash cut short are counted, not kept). */
export interface Segment {
  path: string;
  records: AuditRecord[];
  /** Lines that were not whole JSON: the tail of a write that a crash interrupted before its fsync returned. */
  torn: number;
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Who wrote a journal file: the host (a pod's name in Kubernetes), the process id and a random id of this start. */
export interface JournalOwner {
  host: string;
  pid: number;
  /** Eight hex digits drawn at start: tells a restarted process from its predecessor with the same pid (pid 1 in every container). */
  boot: string;
}

/** This process as a journal owner. The host name is reduced to letters, digits, `-` and `_` so that it fits a file name. */
export const thisProcess = (): JournalOwner => ({
  host: hostname().replace(/[^A-Za-z0-9_-]/g, '_') || 'host',
  pid: process.pid,
  boot: randomBytes(4).toString('hex'),
});

/** Owners of the journals open in this process: a file of this host and pid with another owner is a predecessor's, unless listed here. */
const openHere = new Set<string>();

/** A writer's lease is renewed this often while it lives... */
const LEASE_RENEW_MS = 5_000;
/** ...and a lease not renewed for this long is a dead writer's: its files may be claimed. */
export const LEASE_EXPIRES_MS = 30_000;

/**
 * A local append-only journal for audit events the database cannot take right now: each append is
 * one write and one fdatasync, so once `append` resolves the events survive a crash, a SIGKILL or a
 * power loss of this host. Files are `audit-<service>-<host>.<pid>.<boot>-<n>.jsonl`, mode 0600. The
 * writer rotates to a new file before shipping a closed one to the database, and removes a file
 * only after every one of its events is in the database (inserts are idempotent by event id, so a
 * file shipped twice after a crash stores each event once).
 *
 * Whose files may be claimed: on this host, those of a process that is not running (a crash, a
 * SIGKILL) and those of this pid under another start (a container restarted, pid 1 again), unless a
 * journal of this very process holds them. Another host's files (a container recreated under a new
 * name, a pod sharing the volume) are told by the writer's lease, `audit-<service>-<owner>.lease`,
 * which it creates before its first file and renews every 5 s until it closes: they are claimed
 * once the lease is gone or 30 s old, and never while it lives. Hosts that share a folder must
 * report different host names (pod names and container ids do).
 */
export class AuditJournal {
  private handle: FileHandle | undefined;
  private current: string | undefined;
  private sequence = 0;
  private pendingBytes = 0;
  private lease: NodeJS.Timeout | undefined;
  /** Appends and rotations, one at a time: a rotation never closes a file under an append's feet. */
  private turn: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly dir: string,
    private readonly service: string,
    private readonly owner: JournalOwner = thisProcess(),
    /** Whether a process of this host is running (signal 0 by default): for files of earlier versions, which have no lease. */
    private readonly alive: (pid: number) => boolean = isAlive,
  ) {
    openHere.add(this.ownerName());
  }

  /** Files of other writers that were left alone at the last claim because their writer may be alive: look again later. */
  waiting = 0;

  private ownerName({ host, pid, boot }: JournalOwner = this.owner): string {
    return `${host}.${pid}.${boot}`;
  }

  private fileName(sequence: number): string {
    return join(this.dir, `audit-${this.service}-${this.ownerName()}-${String(sequence).padStart(6, '0')}.jsonl`);
  }

  private leasePath(owner: string): string {
    return join(this.dir, `audit-${this.service}-${owner}.lease`);
  }

  /** Creates this writer's lease (before its first file) and keeps it fresh while the process lives. */
  private holdLease(): void {
    if (this.lease) return;
    const path = this.leasePath(this.ownerName());
    writeFileSync(path, `${this.ownerName()}\n`, { mode: 0o600 });
    this.lease = setInterval(() => {
      const now = new Date();
      try {
        utimesSync(path, now, now);
      } catch {
        writeFileSync(path, `${this.ownerName()}\n`, { mode: 0o600 });
      }
    }, LEASE_RENEW_MS);
    this.lease.unref();
  }

  /** Whether the writer named `owner` holds a live lease. */
  private leaseIsLive(owner: string): boolean {
    try {
      return Date.now() - statSync(this.leasePath(owner)).mtimeMs < LEASE_EXPIRES_MS;
    } catch {
      return false;
    }
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.turn.then(work, work);
    this.turn = run.catch(() => {});
    return run;
  }

  /** Whether the current file holds events not yet shipped. */
  get dirty(): boolean {
    return this.pendingBytes > 0;
  }

  /** Appends the records and waits until they are on disk (fdatasync). Throws if they could not be made durable. */
  append(records: readonly AuditRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    return this.exclusive(async () => {
      if (!this.handle) {
        mkdirSync(this.dir, { recursive: true, mode: 0o700 });
        this.holdLease();
        this.current = this.fileName(++this.sequence);
        this.handle = await open(this.current, 'a', 0o600);
      }
      const handle = this.handle;
      const text = records.map((record) => `${JSON.stringify(record)}\n`).join('');
      await handle.write(text);
      await handle.datasync();
      this.pendingBytes += text.length;
    });
  }

  /** Closes the current file so it can be shipped; later appends start a new one. Returns its path, if it held anything. */
  rotate(): Promise<string | undefined> {
    return this.exclusive(async () => {
      if (!this.handle || !this.current) return undefined;
      const path = this.current;
      const handle = this.handle;
      this.handle = undefined;
      this.current = undefined;
      this.pendingBytes = 0;
      await handle.close();
      return path;
    });
  }

  /**
   * Closed files of this service waiting to be shipped: this writer's own, and those of writers
   * that are gone (see the class comment), which this writer claims by renaming them to its own
   * name so no two live writers ship one file. Files of earlier versions (`audit-<service>-<pid>-<n>.jsonl`,
   * `audit-spill-<service>.jsonl`), which have no lease, are claimed when they have not changed for
   * as long as a lease lives, or at once when their pid is another that is not running here.
   */
  claimClosed(): string[] {
    if (!existsSync(this.dir)) return [];
    const mine: string[] = [];
    const me = this.ownerName();
    let waiting = 0;
    const named = new RegExp(`^audit-${this.service}-([A-Za-z0-9_-]+\\.\\d+\\.[0-9a-f]{8})-\\d+\\.jsonl$`);
    const pidOnly = new RegExp(`^audit-${this.service}-(\\d+)-\\d+\\.jsonl$`);
    const lease = new RegExp(`^audit-${this.service}-([A-Za-z0-9_-]+\\.\\d+\\.[0-9a-f]{8})\\.lease$`);
    for (const name of readdirSync(this.dir).sort()) {
      const path = join(this.dir, name);
      if (path === this.current) continue;
      const leaseOf = lease.exec(name)?.[1];
      // A dead writer's lease is tidied away (its files, if any, are claimed below or were already).
      if (leaseOf !== undefined && leaseOf !== me && !this.leaseIsLive(leaseOf)) rmSync(path, { force: true });
      const owner = named.exec(name)?.[1];
      const old = owner ? null : pidOnly.exec(name);
      if (!owner && !old && name !== `audit-spill-${this.service}.jsonl`) continue;
      if (owner === me) {
        mine.push(path);
        continue;
      }
      if (owner !== undefined ? this.mayBeWriting(owner) : this.earlierVersionMayBeWriting(path, old ? Number(old[1]) : 0)) {
        waiting++;
        continue;
      }
      const claimed = this.fileName(++this.sequence);
      try {
        renameSync(path, claimed);
        mine.push(claimed);
      } catch {
        // Another process claimed it first.
      }
    }
    this.waiting = waiting;
    return mine;
  }

  /** Whether the writer named `owner` (host.pid.boot) may still be writing its files. */
  private mayBeWriting(owner: string): boolean {
    const [host, pid] = owner.split('.') as [string, string];
    if (host !== this.owner.host) return this.leaseIsLive(owner);
    if (Number(pid) === this.owner.pid) return openHere.has(owner);
    return this.alive(Number(pid));
  }

  private earlierVersionMayBeWriting(path: string, pid: number): boolean {
    let changedMsAgo: number;
    try {
      changedMsAgo = Date.now() - statSync(path).mtimeMs;
    } catch {
      return true; // gone meanwhile: someone else has it
    }
    if (changedMsAgo >= LEASE_EXPIRES_MS) return false;
    // Changed lately: taken at once only from a pid that is not running here (pid 1 again may be a live old writer on a shared volume).
    return pid === 0 || pid === this.owner.pid || this.alive(pid);
  }

  /** Reads a closed file. */
  read(path: string): Segment {
    const records: AuditRecord[] = [];
    let torn = 0;
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      if (!line) continue;
      try {
        const parsed = JSON.parse(line) as Line;
        records.push({ correlationId: null, sanitized: false, ...parsed, at: new Date(parsed.at) });
      } catch {
        torn++;
      }
    }
    return { path, records, torn };
  }

  /** Removes a file whose every event is in the database. */
  remove(path: string): void {
    rmSync(path, { force: true });
  }

  async close(): Promise<void> {
    openHere.delete(this.ownerName());
    await this.exclusive(async () => {
      const handle = this.handle;
      this.handle = undefined;
      await handle?.close();
    });
    if (this.lease) {
      clearInterval(this.lease);
      this.lease = undefined;
      // Files left behind (not yet shipped) are free to be claimed at once by the next writer.
      rmSync(this.leasePath(this.ownerName()), { force: true });
    }
  }
}
