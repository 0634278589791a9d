import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
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

/** Boot ids of the journals open in this process: a file with this pid and one of these is a live sibling's, not a predecessor's. */
const openHere = new Set<string>();

/**
 * A local append-only journal for audit events the database cannot take right now: each append is
 * one write and one fdatasync, so once `append` resolves the events survive a crash, a SIGKILL or a
 * power loss of this host. Files are `audit-<service>-<host>.<pid>.<boot>-<n>.jsonl`, mode 0600. The
 * writer rotates to a new file before shipping a closed one to the database, and removes a file
 * only after every one of its events is in the database (inserts are idempotent by event id, so a
 * file shipped twice after a crash stores each event once).
 *
 * The journal directory belongs to one host (a pod's own volume): files another host wrote are left
 * alone, because whether that host is still writing cannot be known from here.
 */
export class AuditJournal {
  private handle: FileHandle | undefined;
  private current: string | undefined;
  private sequence = 0;
  private pendingBytes = 0;

  constructor(
    private readonly dir: string,
    private readonly service: string,
    private readonly owner: JournalOwner = thisProcess(),
    /** Whether a process of this host is running (signal 0 by default). */
    private readonly alive: (pid: number) => boolean = isAlive,
  ) {
    openHere.add(owner.boot);
  }

  private fileName(sequence: number): string {
    const { host, pid, boot } = this.owner;
    return join(this.dir, `audit-${this.service}-${host}.${pid}.${boot}-${String(sequence).padStart(6, '0')}.jsonl`);
  }

  /**
   * Whether a file's writer may still be writing it. Another host's files: assumed so. This host:
   * a different process that is alive is; this pid with a boot id no journal of this process holds
   * is this process's predecessor (a restarted container, where every process is pid 1), gone.
   * Files of earlier versions carry only a pid.
   */
  private ownerMayBeWriting(host: string | undefined, pid: number, boot: string | undefined): boolean {
    if (host !== undefined && host !== this.owner.host) return true;
    if (pid === this.owner.pid) return boot !== undefined && openHere.has(boot);
    return pid !== 0 && this.alive(pid);
  }

  /** Whether the current file holds events not yet shipped. */
  get dirty(): boolean {
    return this.pendingBytes > 0;
  }

  /** Appends the records and waits until they are on disk (fdatasync). Throws if they could not be made durable. */
  async append(records: readonly AuditRecord[]): Promise<void> {
    if (records.length === 0) return;
    if (!this.handle) {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      this.current = this.fileName(++this.sequence);
      this.handle = await open(this.current, 'a', 0o600);
    }
    const text = records.map((record) => `${JSON.stringify(record)}\n`).join('');
    await this.handle.write(text);
    await this.handle.datasync();
    this.pendingBytes += text.length;
  }

  /** Closes the current file so it can be shipped; later appends start a new one. Returns its path, if it held anything. */
  async rotate(): Promise<string | undefined> {
    if (!this.handle || !this.current) return undefined;
    const path = this.current;
    const handle = this.handle;
    this.handle = undefined;
    this.current = undefined;
    this.pendingBytes = 0;
    await handle.close();
    return path;
  }

  /**
   * Closed files of this service waiting to be shipped: this process's own, and those left by a
   * process of this host that is gone (a crash, a SIGKILL, an earlier run, the previous life of a
   * restarted container), which this process claims by renaming them to its own name so no two
   * processes ship one file. Files of a live sibling or of another host are left alone. Files of
   * earlier versions (`audit-<service>-<pid>-<n>.jsonl`, `audit-spill-<service>.jsonl`) are claimed
   * the same way.
   */
  claimClosed(): string[] {
    if (!existsSync(this.dir)) return [];
    const mine: string[] = [];
    const current = new RegExp(`^audit-${this.service}-([A-Za-z0-9_-]+)\\.(\\d+)\\.([0-9a-f]{8})-\\d+\\.jsonl$`);
    const pidOnly = new RegExp(`^audit-${this.service}-(\\d+)-\\d+\\.jsonl$`);
    for (const name of readdirSync(this.dir).sort()) {
      const path = join(this.dir, name);
      if (path === this.current) continue;
      const named = current.exec(name);
      const old = named ? null : pidOnly.exec(name);
      if (!named && !old && name !== `audit-spill-${this.service}.jsonl`) continue;
      const [host, pid, boot] = named ? [named[1], Number(named[2]), named[3]] : [undefined, old ? Number(old[1]) : 0, undefined];
      const own = named !== null && host === this.owner.host && pid === this.owner.pid && boot === this.owner.boot;
      if (own) {
        mine.push(path);
        continue;
      }
      if (this.ownerMayBeWriting(host, pid, boot)) continue;
      const claimed = this.fileName(++this.sequence);
      try {
        renameSync(path, claimed);
        mine.push(claimed);
      } catch {
        // Another process claimed it first.
      }
    }
    return mine;
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
    openHere.delete(this.owner.boot);
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }
}
