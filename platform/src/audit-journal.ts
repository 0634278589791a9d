import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
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

/**
 * A local append-only journal for audit events the database cannot take right now: each append is
 * one write and one fdatasync, so once `append` resolves the events survive a crash, a SIGKILL or a
 * power loss of this host. Files are `audit-<service>-<pid>-<n>.jsonl`, mode 0600. The writer
 * rotates to a new file before shipping a closed one to the database, and removes a file only after
 * every one of its events is in the database (inserts are idempotent by event id, so a file
 * shipped twice after a crash stores each event once).
 */
export class AuditJournal {
  private handle: FileHandle | undefined;
  private current: string | undefined;
  private sequence = 0;
  private pendingBytes = 0;

  constructor(
    private readonly dir: string,
    private readonly service: string,
  ) {}

  private fileName(pid: number, sequence: number): string {
    return join(this.dir, `audit-${this.service}-${pid}-${String(sequence).padStart(6, '0')}.jsonl`);
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
      this.current = this.fileName(process.pid, ++this.sequence);
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
   * process that is gone (a crash, a SIGKILL, an earlier run), which this process claims by renaming
   * them to its own name so no two processes ship one file. Files of a live sibling are left alone.
   * Spill files of earlier versions (`audit-spill-<service>.jsonl`) are claimed the same way.
   */
  claimClosed(): string[] {
    if (!existsSync(this.dir)) return [];
    const mine: string[] = [];
    const pattern = new RegExp(`^audit-${this.service}-(\\d+)-(\\d+)\\.jsonl$`);
    for (const name of readdirSync(this.dir).sort()) {
      const path = join(this.dir, name);
      if (path === this.current) continue;
      const match = pattern.exec(name);
      const legacy = name === `audit-spill-${this.service}.jsonl`;
      if (!match && !legacy) continue;
      const pid = match ? Number(match[1]) : 0;
      if (pid === process.pid) {
        mine.push(path);
        continue;
      }
      if (pid !== 0 && isAlive(pid)) continue;
      const claimed = this.fileName(process.pid, ++this.sequence);
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
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }
}
