/**
 * `npm run bench -- --scenarios scale --patients 1000000`: what grows when the data does. The same
 * operations (patient lookup, a clinician's chart, name search with a common and a rare prefix,
 * MRN and birth-date search, a patient's access log) are measured at a small size and a large one,
 * in one run on PostgreSQL: latency through this gateway in its production configuration, and the
 * database's own execution time of the statements the subgraphs send for them (EXPLAIN (ANALYZE,
 * BUFFERS) of each statement, captured from Prisma's query events). Writes scale.{json,md}.
 *
 * The subgraphs run with their cache off, so that every request reaches the database: at 2,000
 * patients every record would fit in the cache and the comparison would measure the cache instead.
 * AuditEvent is filled with synthetic rows (see scale-audit.ts) to the size each patient count brings.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyMigrations, type Database, FAMILY_NAMES, mix32, openDatabase, printSeedProgress, seedDatabase } from '@healthgraph/db';
import { DEFAULT_MANIFEST_PATH, TrustedOperations } from '@healthgraph/gateway/persisted-queries';
import { AuditLog, createLogger, DEFAULT_PURPOSE, type Role } from '@healthgraph/platform';
import { loadStackConfig, startSubgraphs } from '@healthgraph/stack';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { planSyntheticAudit } from './scale-audit.js';
import {
  isExplainable,
  readExplain,
  renderScaleMarkdown,
  type SampledRequest,
  type ScaleLoadResult,
  type ScaleLoadSpec,
  type ScaleReport,
  type ScaleSize,
  type ScaleTable,
  summariseLoad,
  summariseSql,
} from './scale-report.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ScaleOptions {
  databaseUrl: string | undefined;
  smallPatients: number;
  largePatients: number;
  /** Synthetic audit events per patient (10 gives 10 million rows at a million patients). */
  auditPerPatient: number;
  connections: number;
  seconds: number;
  warmup: number;
  /** Requests per operation whose statements are explained. */
  sqlSamples: number;
  /** Measured runs per operation and size, the order of the sizes rotating. */
  rounds: number;
  /** Keep a database that already holds this seed and audit fill (recorded by an earlier run) instead of seeding it again. */
  reuse: boolean;
  out: string;
  log: (line: string) => void;
}

/** Surnames' beginnings: the five most common (each thousands of rows at a million patients), and rare ones from the long tail. */
export const COMMON_PREFIXES = ['Gar', 'Smi', 'Ngu', 'Oka', 'Mul'];
/** Given names' beginnings: the seed draws each of its 60 given names for about one patient in 60 (16,700 at a million). */
export const COMMON_GIVEN_PREFIXES = ['Mat', 'Sof', 'Ele', 'Kwa', 'Ing'];
export const RARE_PREFIXES = FAMILY_NAMES.slice(-40)
  .filter((_, i) => i % 4 === 0)
  .map((name) => name.slice(0, 7));

/** The name of the database a PostgreSQL URL points at. */
export function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
}

/**
 * Why the scenario may not run on this database, or undefined when it may: it needs PostgreSQL
 * (the sizes it measures are what a deployment runs on) and replaces every row, so never on a
 * database that looks shared.
 */
export function refusal(url: string | undefined): string | undefined {
  if (!url)
    return 'the scale scenario runs on PostgreSQL only: set DATABASE_URL to a scratch database (it replaces every row), e.g. postgresql://postgres@127.0.0.1:5432/healthgraph_scale';
  let name: string;
  try {
    name = databaseName(url);
  } catch {
    return 'DATABASE_URL is not a valid URL';
  }
  if (!name || ['postgres', 'template0', 'template1'].includes(name))
    return `the scale scenario replaces every row of its database: point DATABASE_URL at a scratch database, not "${name || '(default)'}"`;
  return undefined;
}

/** `count` patient numbers from 1..n, spread over the whole range, the same every run. */
export function spreadPatients(n: number, count: number, salt: number): number[] {
  const out = new Set<number>();
  for (let i = 0; out.size < Math.min(count, n); i++) out.add(1 + (mix32((i * 2654435761 + salt) >>> 0) % n));
  return [...out];
}
export const patientId = (p: number) => `pat-${String(p).padStart(6, '0')}`;
export const providerId = (m: number) => `prv-${String(m).padStart(4, '0')}`;

type Planned = { token: string; body: string; label?: string };
interface OperationPlan {
  name: string;
  operation: string;
  root: string;
  requests: Planned[];
}

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(url)).ok;
  } catch {
    return false;
  }
}

/** The sibling scratch database the small size lives in: `<name>_small` on the same server. */
export function smallDatabaseUrl(url: string): string {
  const small = new URL(url);
  small.pathname = `/${encodeURIComponent(`${databaseName(url)}_small`)}`;
  return small.toString();
}

/** One size under test: its database, its subgraphs (cache off) and its own gateway process. */
interface Bench {
  patients: number;
  db: Database;
  url: string;
  size: ScaleSize;
  plans: OperationPlan[];
  /** Statements sent while capturing, and when the last statement of any kind was sent. */
  capture?: { sql: string; params: string }[];
  lastStatementAt: number;
}

/** Runs the scale scenario; returns the process exit code. */
export async function runScale(options: ScaleOptions): Promise<number> {
  const { log } = options;
  const refused = refusal(options.databaseUrl);
  if (refused) {
    process.stderr.write(`bench: ${refused}\n`);
    return 2;
  }
  const largeUrl = options.databaseUrl!;
  const sizes = [...new Set([options.smallPatients, options.largePatients])].sort((a, b) => a - b);
  const config = loadStackConfig({ ...process.env, NODE_ENV: 'test', DATABASE_URL: largeUrl });
  const scratch = mkdtempSync(join(tmpdir(), 'healthgraph-scale-'));
  const children: ChildProcess[] = [];
  process.on('exit', () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  });
  const idp = createServer();
  const closers: (() => Promise<void>)[] = [];
  try {
    // ---- Identity provider: an ES256 key behind a JWKS endpoint, as production verifies.
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'bench', alg: 'ES256', use: 'sig' }] });
    idp.on('request', (_, response) => response.writeHead(200, { 'content-type': 'application/json' }).end(jwks));
    await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
    const ISSUER = 'https://idp.bench.local';
    const AUDIENCE = 'healthgraph';
    const token = (role: Role, sub: string) =>
      new SignJWT({ role, purpose: DEFAULT_PURPOSE[role] })
        .setProtectedHeader({ alg: 'ES256', kid: 'bench' })
        .setSubject(sub)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setExpirationTime('6h')
        .sign(privateKey);
    const operations = Object.fromEntries(
      [...new TrustedOperations(DEFAULT_MANIFEST_PATH).operations].map((o) => [o.name, { id: o.id, body: o.body }]),
    );
    const body = (name: string, variables: Record<string, unknown>) => {
      const operation = operations[name];
      if (!operation) throw new Error(`trusted operation ${name} is not in the manifest`);
      return JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: operation.id } }, variables });
    };

    // ---- Each size in a database of its own (the large one DATABASE_URL, the small one its
    // `_small` sibling), so that the measured rounds can alternate between them: on a shared
    // machine, drift then weighs on both sizes alike.
    const benches: Bench[] = [];
    for (const patients of sizes) {
      const url = patients === options.largePatients ? largeUrl : smallDatabaseUrl(largeUrl);
      if (url !== largeUrl) await ensureDatabase(largeUrl, url);
      const db = await openDatabase({ url, poolSize: 10 });
      closers.unshift(() => db.close());
      log(`${databaseName(url)}: migrating...`);
      await applyMigrations(db.adapterFactory);
      const bench: Bench = { patients, db, url, size: await prepare(db, patients, options), plans: [], lastStatementAt: 0 };
      db.onQuery((sql, params) => {
        bench.lastStatementAt = performance.now();
        bench.capture?.push({ sql, params });
      });
      benches.push(bench);
    }
    for (const bench of benches) {
      const audit = new AuditLog(bench.db.prisma, { service: `bench-scale-${bench.patients}`, journalDir: scratch });
      closers.unshift(() => audit.close());
      const subgraphTokenSecret = randomBytes(32).toString('hex');
      const subgraphs = await startSubgraphs({
        config: { ...config, subgraphTokenSecret },
        db: bench.db,
        ephemeralPorts: true,
        batching: true,
        cache: { ...config.cache, enabled: false },
        audit,
        log: createLogger(process.env.LOG_LEVEL ?? 'warn'),
      });
      closers.unshift(() => subgraphs.close());
      bench.url = await startGateway(`gateway-${bench.patients}`, subgraphs.subgraphUrls, subgraphTokenSecret, bench.url);
      bench.plans = await planOperations(bench.db, bench.patients, body, token);
    }

    /** Waits until no statement has been sent for half a second: requests a load run left in flight have finished. */
    const settled = async (bench: Bench) => {
      while (performance.now() - bench.lastStatementAt < 500) await new Promise((resolve) => setTimeout(resolve, 100));
    };
    const names = benches[0]!.plans.map((p) => p.name);
    for (const name of names) {
      const samples = new Map<Bench, SampledRequest[]>();
      for (const bench of benches) {
        const plan = bench.plans.find((p) => p.name === name)!;
        log(
          `${bench.patients} patients: ${name}: explaining ${Math.min(options.sqlSamples, plan.requests.length)} requests' statements...`,
        );
        await settled(bench);
        const sampled: SampledRequest[] = [];
        for (const request of plan.requests.slice(0, options.sqlSamples)) {
          bench.capture = [];
          const response = await fetch(bench.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${request.token}` },
            body: request.body,
          });
          const text = await response.text();
          const statements = bench.capture;
          bench.capture = undefined;
          if (!response.ok || JSON.parse(text).errors) throw new Error(`${name} failed: ${response.status} ${text.slice(0, 500)}`);
          const sample: SampledRequest = [];
          for (const statement of statements.filter((s) => isExplainable(s.sql)))
            sample.push({ sql: statement.sql, explained: await explain(bench.db, statement.sql, statement.params) });
          sampled.push(sample);
        }
        samples.set(bench, sampled);
      }
      const spec = (bench: Bench, seconds: number): ScaleLoadSpec => {
        const plan = bench.plans.find((p) => p.name === name)!;
        return { url: bench.url, connections: options.connections, seconds, root: plan.root, requests: plan.requests };
      };
      for (const bench of benches) {
        log(`${bench.patients} patients: ${name}: warm-up ${options.warmup} s at c=${options.connections}`);
        await load(spec(bench, options.warmup), scratch);
      }
      const runs = new Map<Bench, ScaleLoadResult[]>(benches.map((b) => [b, []]));
      const loads = new Map<Bench, number[]>(benches.map((b) => [b, []]));
      for (let round = 0; round < options.rounds; round++) {
        // Rotate the order each round, so drift on a shared machine weighs on every size alike.
        for (const bench of benches.map((_, i) => benches[(i + round) % benches.length]!)) {
          log(`${bench.patients} patients: ${name}: round ${round + 1}/${options.rounds} (${options.seconds} s)`);
          runs.get(bench)!.push(await load(spec(bench, options.seconds), scratch));
          loads.get(bench)!.push(loadavg()[0]!);
        }
      }
      for (const bench of benches) {
        const plan = bench.plans.find((p) => p.name === name)!;
        bench.size.operations.push({
          name,
          operation: plan.operation,
          gateway: summariseLoad(runs.get(bench)!),
          sql: summariseSql(samples.get(bench)!),
          loadAverage: loads.get(bench)!,
        });
      }
    }

    const db = benches.at(-1)!.db;
    const version = (await db.prisma.$queryRawUnsafe<{ version: string }[]>('select version()'))[0]!.version.split(' on ')[0]!;
    const settings = await db.prisma.$queryRawUnsafe<{ name: string; setting: string; unit: string | null }[]>(
      `SELECT name, setting, unit FROM pg_settings WHERE name IN ('shared_buffers', 'work_mem', 'effective_cache_size', 'random_page_cost')`,
    );
    const report: ScaleReport = {
      date: new Date().toISOString(),
      machine: {
        cpu: cpus()[0]?.model ?? 'unknown',
        cores: cpus().length,
        memoryGb: Math.round(totalmem() / 2 ** 30),
        node: process.version,
      },
      setup: {
        database: version,
        'database settings': settings.map((s) => `${s.name}=${s.setting}${s.unit ?? ''}`).join(', '),
        'subgraph cache': 'off (every request reaches the database)',
        'this gateway': 'NODE_ENV=production, safelist, cost enforced, JWKS; one process per size',
        connections: options.connections,
        'seconds per round': options.seconds,
        rounds: `${options.rounds}, the order of the sizes rotating`,
        'warm-up seconds': options.warmup,
        'requests explained per operation': options.sqlSamples,
        'audit rows': `synthetic, ${options.auditPerPatient} per patient over 24 monthly partitions`,
      },
      sizes: benches.map((b) => b.size),
    };
    mkdirSync(options.out, { recursive: true });
    writeFileSync(join(options.out, 'scale.json'), `${JSON.stringify(report, null, 2)}\n`);
    const markdown = renderScaleMarkdown(report);
    writeFileSync(join(options.out, 'scale.md'), markdown);
    process.stdout.write(`\n${markdown}\nWritten to ${options.out}/scale.{json,md}\n`);
    return 0;
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((child) => (child.exitCode !== null ? undefined : new Promise((resolve) => child.on('exit', resolve)))));
    idp.close();
    for (const close of closers) await close();
    rmSync(scratch, { recursive: true, force: true });
  }

  /** This gateway in its own process, configured as production, in front of one size's subgraphs; returns its URL. */
  async function startGateway(
    name: string,
    urls: Record<string, string>,
    subgraphTokenSecret: string,
    databaseUrl: string,
  ): Promise<string> {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      GATEWAY_PORT: String(port),
      PATIENTS_URL: urls.patients,
      PROVIDERS_URL: urls.providers,
      APPOINTMENTS_URL: urls.appointments,
      RECORDS_URL: urls.records,
      // A handful of synthetic callers send far more than people at portals do: rate limits off, so the gateway is what is measured.
      ...Object.fromEntries(
        ['PATIENT', 'CLINICIAN', 'SCHEDULER', 'BILLING', 'ADMIN', 'AUDITOR'].map((role) => [`RATE_LIMIT_ROLE_${role}`, '0']),
      ),
      ...Object.fromEntries(['EMERGENCY', 'CLINICAL', 'PORTAL', 'BACK_OFFICE'].map((c) => [`RATE_LIMIT_SUB_${c}`, '0'])),
      SHUTDOWN_READY_DELAY_MS: '0',
      JWT_JWKS_URL: jwksUrl(),
      JWT_ISSUER: 'https://idp.bench.local',
      JWT_AUDIENCE: 'healthgraph',
      SUBGRAPH_TOKEN_SECRET: subgraphTokenSecret,
      PQ_MODE: 'safelist',
      COST_MODE: 'enforce',
      AUDIT_JOURNAL_DIR: scratch,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
      DATABASE_URL: databaseUrl,
    };
    if (config.redis.url)
      Object.assign(env, {
        REDIS_URL: config.redis.url,
        CACHE_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
        CACHE_PREFIX: `bench-scale-${process.pid}-${port}`,
      });
    const logPath = join(scratch, `${name}.log`);
    const output = openSync(logPath, 'a');
    const gateway = spawn(process.execPath, [join(ROOT, 'gateway/dist/index.js')], { env, stdio: ['ignore', output, output], cwd: ROOT });
    closeSync(output);
    children.push(gateway);
    for (const deadline = Date.now() + 60_000; !(await answers(`http://127.0.0.1:${port}/ready`)); ) {
      if (gateway.exitCode !== null || Date.now() > deadline)
        throw new Error(`${name} did not start:\n${readFileSync(logPath, 'utf8').slice(-4000)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return `http://127.0.0.1:${port}/graphql`;
  }

  function jwksUrl(): string {
    return `http://127.0.0.1:${(idp.address() as AddressInfo).port}/jwks.json`;
  }

  async function load(spec: ScaleLoadSpec, dir: string): Promise<ScaleLoadResult> {
    const specPath = join(dir, 'scale-load.json');
    writeFileSync(specPath, JSON.stringify(spec));
    const child = spawn(process.execPath, [join(ROOT, 'bench/dist/scale-load.js'), specPath], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    if (code !== 0) throw new Error(`scale load generator exited with ${code}`);
    return JSON.parse(stdout) as ScaleLoadResult;
  }
}

/** Creates the database `url` names on the server of `serverUrl` unless it exists. */
async function ensureDatabase(serverUrl: string, url: string): Promise<void> {
  const admin = await openDatabase({ url: serverUrl, poolSize: 1 });
  try {
    const name = databaseName(url);
    const [found] = await admin.prisma.$queryRawUnsafe<{ n: bigint }[]>('SELECT count(*) AS n FROM pg_database WHERE datname = $1', name);
    if (Number(found!.n) === 0) await admin.prisma.$executeRawUnsafe(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
  } finally {
    await admin.close();
  }
}

/** Seeds `patients`, fills the audit trail, vacuums; returns the size with its timings and table sizes. */
async function prepare(db: Database, patients: number, options: ScaleOptions): Promise<ScaleSize> {
  const { log } = options;
  const auditRows = patients * options.auditPerPatient;
  // What the last seed of this database was, and how long it took: kept beside the data, so a run that reuses it can say so.
  await db.prisma.$executeRawUnsafe(
    `CREATE TABLE IF NOT EXISTS "_bench_scale_seed" ("patients" integer NOT NULL, "auditRows" bigint NOT NULL,
       "seedSeconds" float8 NOT NULL, "auditSeconds" float8 NOT NULL, "vacuumSeconds" float8 NOT NULL, "seededAt" timestamptz NOT NULL)`,
  );
  const [previous] =
    await db.prisma.$queryRawUnsafe<
      { patients: number; auditRows: bigint; seedSeconds: number; auditSeconds: number; vacuumSeconds: number; seededAt: Date }[]
    >(`SELECT * FROM "_bench_scale_seed"`);
  let timings: { seedSeconds: number; auditSeconds: number; vacuumSeconds: number; seededAt: Date; reused: boolean };
  if (
    options.reuse &&
    previous &&
    previous.patients === patients &&
    Number(previous.auditRows) === auditRows &&
    (await db.prisma.patient.count()) === patients
  ) {
    log(`${patients.toLocaleString('en-US')} patients: reusing the data seeded ${previous.seededAt.toISOString()}`);
    const { seedSeconds, auditSeconds, vacuumSeconds, seededAt } = previous;
    timings = { seedSeconds, auditSeconds, vacuumSeconds, seededAt, reused: true };
  } else {
    log(`seeding ${patients.toLocaleString('en-US')} patients (set-based)...`);
    await db.prisma.$executeRawUnsafe(`DELETE FROM "_bench_scale_seed"`);
    let started = performance.now();
    await seedDatabase(db.prisma, { patients, onProgress: printSeedProgress(process.stderr) });
    const seedSeconds = (performance.now() - started) / 1000;
    const providers = await db.prisma.provider.count();
    log(`seeded in ${seedSeconds.toFixed(1)} s; writing ${auditRows.toLocaleString('en-US')} synthetic audit events...`);
    started = performance.now();
    const plan = planSyntheticAudit({ rows: auditRows, patients, providers });
    await db.prisma.$executeRawUnsafe(`SELECT "audit_event_ensure_partitions"(DATE '${plan.firstMonth}', DATE '${plan.lastMonth}')`);
    for (const step of plan.steps) {
      await db.prisma.$executeRawUnsafe(step.sql);
      log(`  AuditEvent ${step.month}  ${step.rows.toLocaleString('en-US')} rows  ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
    const auditSeconds = (performance.now() - started) / 1000;
    // Autovacuum would get there on its own after a bulk load: the measured state is the steady one (visibility map set, statistics fresh).
    log(`audit written in ${auditSeconds.toFixed(1)} s; VACUUM ANALYZE...`);
    started = performance.now();
    await db.prisma.$executeRawUnsafe('VACUUM ANALYZE');
    const vacuumSeconds = (performance.now() - started) / 1000;
    timings = { seedSeconds, auditSeconds, vacuumSeconds, seededAt: new Date(), reused: false };
    await db.prisma.$executeRawUnsafe(
      `INSERT INTO "_bench_scale_seed" VALUES ($1, $2, $3, $4, $5, $6)`,
      patients,
      auditRows,
      seedSeconds,
      auditSeconds,
      vacuumSeconds,
      timings.seededAt,
    );
  }
  const providers = await db.prisma.provider.count();
  return {
    patients,
    providers,
    auditRows,
    ...timings,
    seededAt: timings.seededAt.toISOString(),
    tables: await tableSizes(db),
    databaseBytes: Number(
      (await db.prisma.$queryRawUnsafe<{ size: bigint }[]>('SELECT pg_database_size(current_database()) AS size'))[0]!.size,
    ),
    operations: [],
  };
}

/** Every table of the schema (partitions summed into their parent): exact rows, total and index bytes. */
async function tableSizes(db: Database): Promise<ScaleTable[]> {
  // pg_partition_tree lists a partitioned table with its partitions; a plain table is measured on its own.
  const tables = await db.prisma.$queryRawUnsafe<{ name: string; total: bigint; indexes: bigint }[]>(
    `SELECT c.relname AS name,
            (CASE WHEN c.relkind = 'p' THEN (SELECT sum(pg_total_relation_size(t.relid)) FROM pg_partition_tree(c.oid) t)
                  ELSE pg_total_relation_size(c.oid) END)::bigint AS total,
            (CASE WHEN c.relkind = 'p' THEN (SELECT sum(pg_indexes_size(t.relid)) FROM pg_partition_tree(c.oid) t)
                  ELSE pg_indexes_size(c.oid) END)::bigint AS indexes
       FROM pg_class c
      WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
        AND c.relname NOT IN ('_prisma_migrations', '_bench_scale_seed')
      ORDER BY 2 DESC`,
  );
  const out: ScaleTable[] = [];
  for (const t of tables) {
    const [{ rows }] = await db.prisma.$queryRawUnsafe<[{ rows: bigint }]>(`SELECT count(*) AS rows FROM "${t.name.replace(/"/g, '""')}"`);
    out.push({ name: t.name, rows: Number(rows), totalBytes: Number(t.total), indexBytes: Number(t.indexes) });
  }
  return out.filter((t) => t.totalBytes > 64 * 1024 || t.rows > 0);
}

/** EXPLAIN (ANALYZE, BUFFERS) of one captured statement with its own parameters, three times: the median run. */
async function explain(db: Database, sql: string, params: string) {
  const values = JSON.parse(params) as unknown[];
  const runs = [];
  for (let i = 0; i < 3; i++) {
    const rows = await db.prisma.$queryRawUnsafe<Record<string, unknown>[]>(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${sql}`, ...values);
    const plan = Object.values(rows[0]!)[0];
    runs.push(readExplain(typeof plan === 'string' ? JSON.parse(plan) : plan));
  }
  return runs.sort((a, b) => a.executionMs - b.executionMs)[1]!;
}

/** The operations and their requests at one size: callers and variables drawn from the seeded rows, the same every run. */
async function planOperations(
  db: Database,
  patients: number,
  body: (name: string, variables: Record<string, unknown>) => string,
  token: (role: Role, sub: string) => Promise<string>,
): Promise<OperationPlan[]> {
  const desk = await Promise.all([1, 2, 3, 4, 5].map((i) => token('SCHEDULER', `stf-desk-${i}`)));
  const anyPatients = spreadPatients(patients, 200, 11).map(patientId);
  const rows = await db.prisma.patient.findMany({
    where: { id: { in: anyPatients } },
    select: { id: true, mrn: true, birthDate: true },
    orderBy: { id: 'asc' },
  });
  // Clinicians spread over the directory, each with their care team.
  const providers = await db.prisma.provider.count();
  const clinicianIds = spreadPatients(providers, 20, 23).map(providerId);
  const teams = await db.prisma.careTeamMember.findMany({
    where: { providerId: { in: clinicianIds }, periodEnd: null },
    select: { providerId: true, patientId: true },
    // In patient order, so the explained sample spans several clinicians.
    orderBy: [{ patientId: 'asc' }, { providerId: 'asc' }],
  });
  const clinicianTokens = new Map<string, string>();
  for (const id of clinicianIds) clinicianTokens.set(id, await token('CLINICIAN', id));
  const portalPatients = spreadPatients(patients, 50, 37).map(patientId);
  const patientTokens = await Promise.all(portalPatients.map((id) => token('PATIENT', id)));
  const round = <T>(items: T[], i: number) => items[i % items.length]!;
  const times = <T>(n: number, f: (i: number) => T) => Array.from({ length: n }, (_, i) => f(i));
  return [
    {
      name: 'patient lookup',
      operation: 'PatientSummary (front desk, any patient)',
      root: 'patient',
      requests: anyPatients.map((id, i) => ({ token: round(desk, i), body: body('PatientSummary', { id }) })),
    },
    {
      name: 'clinical chart',
      operation: "PatientChart (a clinician, a patient on the clinician's care team)",
      root: 'patient',
      requests: teams.map((m, i) => ({
        token: clinicianTokens.get(m.providerId)!,
        body: body('PatientChart', { id: m.patientId }),
        label: String(i),
      })),
    },
    {
      name: 'name search, common prefix',
      operation: `SearchPatients name (front desk, first 20): ${COMMON_PREFIXES.join(', ')}`,
      root: 'searchPatients',
      requests: times(50, (i) => ({ token: round(desk, i), body: body('SearchPatients', { name: round(COMMON_PREFIXES, i), first: 20 }) })),
    },
    {
      name: 'name search, common given name',
      operation: `SearchPatients name (front desk, first 20): ${COMMON_GIVEN_PREFIXES.join(', ')}`,
      root: 'searchPatients',
      requests: times(50, (i) => ({
        token: round(desk, i),
        body: body('SearchPatients', { name: round(COMMON_GIVEN_PREFIXES, i), first: 20 }),
      })),
    },
    {
      name: 'name search, rare prefix',
      operation: `SearchPatients name (front desk, first 20): ${RARE_PREFIXES.join(', ')}`,
      root: 'searchPatients',
      requests: times(50, (i) => ({ token: round(desk, i), body: body('SearchPatients', { name: round(RARE_PREFIXES, i), first: 20 }) })),
    },
    {
      name: 'MRN search',
      operation: 'SearchPatients mrn (front desk, exact)',
      root: 'searchPatients',
      requests: rows.map((p, i) => ({ token: round(desk, i), body: body('SearchPatients', { mrn: p.mrn, first: 20 }) })),
    },
    {
      name: 'birth-date search',
      operation: 'SearchPatients birthDate (front desk, first 20)',
      root: 'searchPatients',
      requests: rows.map((p, i) => ({
        token: round(desk, i),
        body: body('SearchPatients', { birthDate: p.birthDate.toISOString().slice(0, 10), first: 20 }),
      })),
    },
    {
      name: 'access log',
      operation: 'MyAccessLog (the patient, first 20)',
      root: 'myAccessLog',
      requests: portalPatients.map((_, i) => ({ token: patientTokens[i]!, body: body('MyAccessLog', { first: 20 }) })),
    },
  ];
}
