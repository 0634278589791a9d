import { execFileSync } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/**
 * A PostgreSQL primary and a streaming standby of it, started from this machine's PostgreSQL
 * binaries in a folder of their own, on free ports: what a managed database's read replica is.
 * The standby applies the primary's log `applyDelayMs` late (recovery_min_apply_delay), so a
 * read it answers too early is seen to be stale, deterministically.
 */
export interface PrimaryAndStandby {
  primaryUrl: string;
  replicaUrl: string;
  /** Stops the standby at once (as a crash would) and starts it again. */
  stopStandby(): void;
  startStandby(): void;
  /** Waits until the standby has replayed everything the primary has written so far. */
  caughtUp(timeoutMs?: number): Promise<void>;
  close(): void;
}

const BIN = (() => {
  if (!existsSync('/usr/lib/postgresql')) return undefined;
  const [version] = readdirSync('/usr/lib/postgresql').sort().reverse();
  const bin = version ? `/usr/lib/postgresql/${version}/bin` : undefined;
  return bin && existsSync(join(bin, 'pg_basebackup')) ? bin : undefined;
})();

/** Why a standby cannot be started here, if it cannot. */
export const standbyUnavailable = BIN ? undefined : 'no PostgreSQL server binaries under /usr/lib/postgresql';

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

export async function startPrimaryAndStandby({
  applyDelayMs,
  database,
}: {
  applyDelayMs: number;
  database: string;
}): Promise<PrimaryAndStandby> {
  if (!BIN) throw new Error(standbyUnavailable);
  // PostgreSQL refuses to run as root: as root, the clusters belong to the postgres user.
  const asRoot = userInfo().uid === 0;
  const run = (command: string, args: string[]) =>
    execFileSync(asRoot ? 'runuser' : join(BIN, command), asRoot ? ['-u', 'postgres', '--', join(BIN, command), ...args] : args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });
  const dir = mkdtempSync('/tmp/hg-standby-');
  if (asRoot) {
    const { uid, gid } = statSync('/var/lib/postgresql');
    chownSync(dir, uid, gid);
  }
  const [primaryPort, replicaPort] = [await freePort(), await freePort()];
  const primaryDir = join(dir, 'primary');
  const replicaDir = join(dir, 'replica');
  const settings = (port: number) => `-c port=${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir} -c fsync=off`;
  run('initdb', ['-D', primaryDir, '--auth=trust', '-U', 'postgres', '--no-sync']);
  run('pg_ctl', ['-D', primaryDir, '-o', settings(primaryPort), '-l', join(dir, 'primary.log'), '-w', 'start']);
  run('pg_basebackup', ['-h', '127.0.0.1', '-p', String(primaryPort), '-U', 'postgres', '-D', replicaDir, '-R', '-X', 'stream']);
  appendFileSync(join(replicaDir, 'postgresql.auto.conf'), `recovery_min_apply_delay = '${applyDelayMs}ms'\n`);
  const startStandby = () => run('pg_ctl', ['-D', replicaDir, '-o', settings(replicaPort), '-l', join(dir, 'replica.log'), '-w', 'start']);
  const stopStandby = () => run('pg_ctl', ['-D', replicaDir, '-m', 'immediate', '-w', 'stop']);
  startStandby();

  const url = (port: number) => `postgresql://postgres@127.0.0.1:${port}/${database}`;
  const admin = new pg.Client({ connectionString: `postgresql://postgres@127.0.0.1:${primaryPort}/postgres` });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();

  const position = async (port: number, sql: string) => {
    const client = new pg.Client({ connectionString: `postgresql://postgres@127.0.0.1:${port}/postgres` });
    await client.connect();
    try {
      return (await client.query<{ lsn: string | null }>(sql)).rows[0]?.lsn ?? null;
    } finally {
      await client.end();
    }
  };
  return {
    primaryUrl: url(primaryPort),
    replicaUrl: url(replicaPort),
    stopStandby,
    startStandby,
    async caughtUp(timeoutMs = 30_000) {
      const target = await position(primaryPort, 'SELECT pg_current_wal_lsn()::text AS lsn');
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const replayed = await position(
          replicaPort,
          `SELECT CASE WHEN pg_last_wal_replay_lsn() >= '${target}'::pg_lsn THEN 'yes' END AS lsn`,
        ).catch(() => null);
        if (replayed) return;
        if (Date.now() > deadline) throw new Error(`the standby did not replay up to ${target} in ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    close() {
      for (const data of [replicaDir, primaryDir]) {
        try {
          run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
        } catch {
          // Already stopped.
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
