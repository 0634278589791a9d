/**
 * `npm run bench`: this gateway side by side with Hive Gateway, with the naive stack, and with a
 * subgraph called directly, on the same data and the same subgraphs, in one run. Then the N+1
 * scaling of a clinician's schedule, naive versus DataLoader. It measures and reports; it asserts
 * nothing. See README, Benchmarks.
 *
 * Processes: this one holds the database (PGlite must stay in one process), both subgraph sets
 * and the JWKS endpoint; each gateway runs in its own process, started from its production entry
 * point; load comes from a separate autocannon process per run.
 */
import './production-mode.js';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { applyMigrations, isEmpty, openDatabase, seedDatabase } from '@healthgraph/db';
import { DEFAULT_MANIFEST_PATH, TrustedOperations } from '@healthgraph/gateway/persisted-queries';
import { AuditLog, createLogger, DEFAULT_PURPOSE, type Role } from '@healthgraph/platform';
import { loadStackConfig as loadConfig, mintDevToken, type SubgraphSet, startStack, startSubgraphs } from '@healthgraph/stack';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { type ClinicianVariant, clinicianScenario } from './clinician.js';
import type { LoadResult } from './load.js';
import {
  type DegradedVariant,
  type OverloadReport,
  renderOverloadChart,
  renderOverloadMarkdown,
  summariseDegraded,
  summariseOverload,
} from './overload-report.js';
import { type BenchReport, type NPlusOneRow, renderChart, renderMarkdown, summarise, type VariantReport } from './report.js';
import { SCHEDULE_PROBE, writeScheduleFixture } from './schedule-fixture.js';
import type { Caller, OverloadClass, OverloadResult, OverloadSpec, WorkloadSpec } from './workload.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Hive Gateway lives in a package of its own, outside the workspaces: its packages want Node 22, and only the bench needs it. */
const HIVE_DIR = join(ROOT, 'bench/peers/hive');

/** The Hive Gateway binary, installed from its own lockfile on first use. */
function installHive(): string {
  const binary = join(HIVE_DIR, 'node_modules/.bin/hive-gateway');
  if (existsSync(binary)) return binary;
  log('installing Hive Gateway for the comparison (once, into bench/peers/hive)...');
  const npm = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: HIVE_DIR, stdio: ['ignore', 2, 2] });
  if (npm.status !== 0 || !existsSync(binary)) {
    log(
      'bench: Hive Gateway could not be installed (npm ci in bench/peers/hive); leave it out with --variants gateway,queued,naive,subgraph',
    );
    process.exit(1);
  }
  return binary;
}
const USAGE = `usage: npm run bench -- [flags]

Measures this gateway beside Hive Gateway, the naive stack and a subgraph called directly, on the
embedded database (or DATABASE_URL, a scratch database), and writes bench.{json,md,svg}.

  --patients N            patients to seed into an empty database (default 2000)
  --connections N         concurrent connections for the portal mix (default 32)
  --lookup-connections N  concurrent connections for the patient-lookup phase (default 10)
  --seconds N             length of one measured run (default 10)
  --rounds N              measured runs per variant and phase, order rotating (default 3)
  --warmup N              seconds of warm-up per variant before each phase (default 5)
  --n1-repeats N          schedule requests per day size in the N+1 probe (default 20)
  --variants LIST         any of gateway,queued,hive,naive,subgraph (default all; gateway always runs);
                          queued is this gateway with audit events not awaited, a baseline
  --scenarios LIST        any of standard,overload,subgraph-down,clinician,scale (default standard): standard is the
                          portal mix, lookups and N+1 (bench.*); overload offers back-office and portal
                          traffic at twice capacity plus break-glass reads, beside Hive Gateway;
                          subgraph-down runs with the records subgraph hung and gone (overload.*);
                          clinician is the clinician-heavy mix beside Hive Gateway and naive (clinician.*);
                          scale (on its own, PostgreSQL only, reseeds DATABASE_URL and its sibling
                          <name>_small) measures lookups, charts, searches and the access log at
                          --small-patients and at --patients, with SQL time from EXPLAIN ANALYZE (scale.*)
  --small-patients N      scale: the small size (default 2000)
  --audit-per-patient N   scale: synthetic audit events per patient (default 10: 10 million at 1,000,000)
  --scale-connections N   scale: concurrent connections per operation (default 8)
  --sql-samples N         scale: requests per operation whose statements are explained (default 10)
  --reuse-data            scale: keep a database an earlier scale run seeded with the same sizes
                          (its seeding time is reported as that run's) instead of seeding it again
  --soak                  after the clinician mix, hold this gateway at half its capacity on it for
                          --soak-seconds and report each process's memory (implies --scenarios clinician
                          when no scenarios are given)
  --soak-seconds N        length of the soak (default 600)
  --offered N             overload: back-office and portal requests per second to offer
                          (default: twice the measured capacity)
  --profile DIR           write a V8 CPU profile of each of this gateway's processes into DIR (and,
                          for the clinician mix, of the subgraphs' process over its measured rounds)
  --out DIR               where the results go (default bench/results)
  --help                  this text

Hive Gateway is installed into bench/peers/hive on first use (its packages want Node 22).`;

function fail(message: string): never {
  process.stderr.write(`bench: ${message} (see --help)\n`);
  process.exit(2);
}

let parsed: ReturnType<typeof parseFlags>;
function parseFlags() {
  return parseArgs({
    options: {
      patients: { type: 'string', default: '2000' },
      connections: { type: 'string', default: '32' },
      'lookup-connections': { type: 'string', default: '10' },
      seconds: { type: 'string', default: '10' },
      rounds: { type: 'string', default: '3' },
      warmup: { type: 'string', default: '5' },
      'n1-repeats': { type: 'string', default: '20' },
      variants: { type: 'string', default: 'gateway,queued,hive,naive,subgraph' },
      scenarios: { type: 'string' },
      soak: { type: 'boolean', default: false },
      'soak-seconds': { type: 'string', default: '600' },
      offered: { type: 'string' },
      'small-patients': { type: 'string', default: '2000' },
      'audit-per-patient': { type: 'string', default: '10' },
      'scale-connections': { type: 'string', default: '8' },
      'sql-samples': { type: 'string', default: '10' },
      'reuse-data': { type: 'boolean' },
      /** Write a V8 CPU profile of each of this gateway's processes into this folder. */
      profile: { type: 'string' },
      out: { type: 'string', default: join(ROOT, 'bench/results') },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
}
try {
  parsed = parseFlags();
} catch (error) {
  fail((error as Error).message.split('\n')[0]!);
}
const { values: flags } = parsed;
if (flags.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
for (const name of [
  'patients',
  'connections',
  'lookup-connections',
  'seconds',
  'rounds',
  'warmup',
  'n1-repeats',
  'small-patients',
  'audit-per-patient',
  'scale-connections',
  'sql-samples',
  'soak-seconds',
] as const) {
  if (!/^[1-9]\d*$/.test(flags[name])) fail(`--${name} must be a positive whole number, not "${flags[name]}"`);
}
for (const variant of flags.variants.split(',')) {
  if (!['gateway', 'queued', 'hive', 'naive', 'subgraph'].includes(variant)) fail(`--variants: unknown variant "${variant}"`);
}
const seconds = Number(flags.seconds);
const rounds = Number(flags.rounds);
const log = (line: string) => process.stderr.write(`${line}\n`);
// The scale scenario reseeds its database at two sizes, so it runs on its own, before the shared set-up below (see scale.ts).
if ((flags.scenarios ?? '').split(',').includes('scale')) {
  if (flags.scenarios !== 'scale') fail('--scenarios: scale runs on its own (it reseeds the database), not together with other scenarios');
  const { runScale } = await import('./scale.js');
  process.exit(
    await runScale({
      databaseUrl: process.env.DATABASE_URL || undefined,
      smallPatients: Number(flags['small-patients']),
      largePatients: Number(flags.patients),
      auditPerPatient: Number(flags['audit-per-patient']),
      connections: Number(flags['scale-connections']),
      seconds,
      warmup: Number(flags.warmup),
      sqlSamples: Number(flags['sql-samples']),
      rounds,
      reuse: flags['reuse-data'] === true,
      out: flags.out,
      log,
    }),
  );
}
// Four subgraph sets and two stacks share this process, each with its own signal listeners.
process.setMaxListeners(32);

// ---- Data: one database for everything, seeded once, plus the schedule fixture for N+1.
const config = loadConfig({ ...process.env, NODE_ENV: 'test' });
const db = await openDatabase({ url: config.databaseUrl, dataDir: config.databaseUrl ? undefined : 'memory://' });
await applyMigrations(db.adapterFactory);
if (await isEmpty(db.prisma)) {
  log(`seeding ${flags.patients} patients...`);
  await seedDatabase(db.prisma, { patients: Number(flags.patients) });
}
const N1_PROVIDER = 'prv-bench-n1';
const N1_DAYS = { '2027-03-01': 1, '2027-03-02': 10, '2027-03-03': 100, '2027-03-04': 500 } as const;
await writeScheduleFixture(db.prisma, { providerId: N1_PROVIDER, idPrefix: 'bn1', days: N1_DAYS });

let statements = 0;
db.onQuery((sql) => {
  if (!sql.includes('"AuditEvent"')) statements++;
});

// ---- Subgraphs: the production set (DataLoader and cache on) and the naive set (both off).
const subgraphTokenSecret = randomBytes(32).toString('hex');
const hostConfig = { ...config, subgraphTokenSecret };
const scratch = mkdtempSync(join(tmpdir(), 'healthgraph-bench-'));
const audit = new AuditLog(db.prisma, { service: 'bench', journalDir: scratch });
const quiet = createLogger(process.env.LOG_LEVEL ?? 'warn');
const cachePrefix = `bench-${process.pid}`;
const production = await startSubgraphs({
  config: hostConfig,
  db,
  ephemeralPorts: true,
  batching: true,
  cache: { ...config.cache, enabled: true },
  redis: { ...config.redis, prefix: cachePrefix },
  audit,
  log: quiet,
});
const naive = await startSubgraphs({
  config: hostConfig,
  db,
  ephemeralPorts: true,
  batching: false,
  cache: { ...config.cache, enabled: false },
  audit,
  log: quiet,
});

// ---- Identity provider: an ES256 key behind a JWKS endpoint, as production verifies.
const { publicKey, privateKey } = await generateKeyPair('ES256');
const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'bench', alg: 'ES256', use: 'sig' }] });
const idp: Server = createServer((_, response) => response.writeHead(200, { 'content-type': 'application/json' }).end(jwks));
await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
const jwksUrl = `http://127.0.0.1:${(idp.address() as AddressInfo).port}/jwks.json`;
const ISSUER = 'https://idp.bench.local';
const AUDIENCE = 'healthgraph';
const clientToken = (role: Role, sub: string, breakGlassReason?: string) =>
  new SignJWT({
    role,
    purpose: breakGlassReason ? 'BTG' : DEFAULT_PURPOSE[role],
    ...(breakGlassReason ? { reason: breakGlassReason } : {}),
  })
    .setProtectedHeader({ alg: 'ES256', kid: 'bench' })
    .setSubject(sub)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    // Break-glass tokens live at most 15 minutes: each scenario that uses them mints them as it starts.
    .setExpirationTime(breakGlassReason ? '14m' : '3h')
    .sign(privateKey);

// ---- Callers: the 20 clinicians with the largest care teams, front-desk staff, 100 patients.
const seededPatients = (
  await db.prisma.patient.findMany({ where: { NOT: { id: { startsWith: 'pat-bn1' } } }, select: { id: true }, orderBy: { id: 'asc' } })
).map((p) => p.id);
const teams = await db.prisma.careTeamMember.groupBy({
  by: ['providerId'],
  where: { periodEnd: null, NOT: { providerId: N1_PROVIDER } },
  _count: { patientId: true },
  orderBy: { _count: { patientId: 'desc' } },
  take: 20,
});
const callers: Caller[] = [];
for (const { providerId } of teams) {
  const patients = (await db.prisma.careTeamMember.findMany({ where: { providerId, periodEnd: null }, select: { patientId: true } })).map(
    (m) => m.patientId,
  );
  callers.push({
    role: 'CLINICIAN',
    sub: providerId,
    purpose: DEFAULT_PURPOSE.CLINICIAN,
    token: await clientToken('CLINICIAN', providerId),
    patients,
  });
}
for (let i = 1; i <= 5; i++) {
  const sub = `stf-desk-${i}`;
  callers.push({
    role: 'SCHEDULER',
    sub,
    purpose: DEFAULT_PURPOSE.SCHEDULER,
    token: await clientToken('SCHEDULER', sub),
    patients: seededPatients,
  });
}
for (const id of seededPatients.filter((_, i) => i % Math.max(1, Math.floor(seededPatients.length / 100)) === 0).slice(0, 100)) {
  callers.push({ role: 'PATIENT', sub: id, purpose: DEFAULT_PURPOSE.PATIENT, token: await clientToken('PATIENT', id), patients: [id] });
}
const providers = (
  await db.prisma.provider.findMany({ where: { acceptingNewPatients: true, NOT: { id: N1_PROVIDER } }, select: { id: true } })
).map((p) => p.id);
const specialties = (await db.prisma.provider.findMany({ distinct: ['specialty'], select: { specialty: true } })).map((p) => p.specialty);
const operations = Object.fromEntries(
  [...new TrustedOperations(DEFAULT_MANIFEST_PATH).operations].map((o) => [o.name, { id: o.id, body: o.body }]),
);
/** Surnames' beginnings the back office searches for (prefix search, served by the trigram index). */
const NAME_PREFIXES = ['Gar', 'Smi', 'Ngu', 'Oka', 'Mul', 'Ros', 'Kim', 'Pat', 'Joh', 'Bro', 'Wil', 'Lee', 'Mar', 'And', 'Tay', 'Tho'];
const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);

// ---- Gateways, each in its own process; none outlives this one, however it ends.
const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});
async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** GET url answers 2xx. */
async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(url)).ok;
  } catch {
    return false;
  }
}

/**
 * Starts a process with its output going to a file (a pipe to this busy process would fill up and
 * block the child's synchronous log writes, skewing its latency), and waits until `readyUrl` answers.
 */
async function startProcess(
  name: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  readyUrl: string,
): Promise<ChildProcess> {
  const logPath = join(scratch, `${name}.log`);
  const output = openSync(logPath, 'a');
  const child = spawn(command, args, { env, stdio: ['ignore', output, output], cwd: ROOT });
  closeSync(output);
  children.push(child);
  const deadline = Date.now() + 60_000;
  while (!(await answers(readyUrl))) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`${name} did not start:\n${readFileSync(logPath, 'utf8').slice(-4000)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return child;
}

/**
 * One of our gateways in its own process, configured as production, in front of `subgraphs` (with
 * `urls` replacing some of them). `auditQueued` runs the benchmark baseline that does not wait for
 * audit events to be durable (production refuses it, so that process runs with NODE_ENV=test,
 * which has production's runtime behaviour otherwise: introspection off, error details hidden,
 * the same explicit settings).
 */
async function startOurGateway(
  name: string,
  subgraphs: SubgraphSet,
  { auditQueued = false, urls = {} }: { auditQueued?: boolean; urls?: Partial<SubgraphSet['subgraphUrls']> } = {},
): Promise<{ url: string; pid: number }> {
  const port = await freePort();
  const subgraphUrls = { ...subgraphs.subgraphUrls, ...urls };
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOST: '127.0.0.1',
    GATEWAY_PORT: String(port),
    PATIENTS_URL: subgraphUrls.patients,
    PROVIDERS_URL: subgraphUrls.providers,
    APPOINTMENTS_URL: subgraphUrls.appointments,
    RECORDS_URL: subgraphUrls.records,
    // The bench's 125 synthetic callers each send far more than a person at a portal does: the
    // per-caller and per-role rate limits are off here (0), so that what is measured is the gateway.
    ...Object.fromEntries(
      ['EMERGENCY', 'CLINICAL', 'PORTAL', 'BACK_OFFICE', ...['PATIENT', 'CLINICIAN', 'SCHEDULER', 'BILLING', 'ADMIN', 'AUDITOR']].map(
        (n) => [
          ['PATIENT', 'CLINICIAN', 'SCHEDULER', 'BILLING', 'ADMIN', 'AUDITOR'].includes(n) ? `RATE_LIMIT_ROLE_${n}` : `RATE_LIMIT_SUB_${n}`,
          '0',
        ],
      ),
    ),
    SHUTDOWN_READY_DELAY_MS: '0',
    // Admission, priority and subgraph-call settings given to the bench go to this gateway, to try other values.
    ...Object.fromEntries(
      Object.entries(process.env).filter(([name]) =>
        /^(ADMISSION_|PRIORITY_RULES$|SUBGRAPH_(TIMEOUT|BREAKER|RETRY|EMERGENCY|MAX_CONNECTIONS))/.test(name),
      ),
    ),
    JWT_JWKS_URL: jwksUrl,
    JWT_ISSUER: ISSUER,
    JWT_AUDIENCE: AUDIENCE,
    SUBGRAPH_TOKEN_SECRET: subgraphTokenSecret,
    PQ_MODE: 'safelist',
    COST_MODE: 'enforce',
    AUDIT_JOURNAL_DIR: scratch,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
  };
  if (auditQueued) env.AUDIT_MODE = 'queued';
  if (config.databaseUrl) Object.assign(env, { NODE_ENV: auditQueued ? 'test' : 'production', DATABASE_URL: config.databaseUrl });
  else {
    // Production needs PostgreSQL; on the embedded database the gateway gets the production settings
    // one by one, and its own scratch database for the refusals it audits itself.
    const dir = mkdtempSync(join(scratch, 'gateway-db-'));
    const own = await openDatabase({ dataDir: dir });
    await applyMigrations(own.adapterFactory);
    await own.close();
    env.PGLITE_DATA_DIR = dir;
  }
  if (config.redis.url)
    Object.assign(env, {
      REDIS_URL: config.redis.url,
      CACHE_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      CACHE_PREFIX: `${cachePrefix}-gw-${port}`,
    });
  const profile = flags.profile ? ['--cpu-prof', `--cpu-prof-dir=${flags.profile}`] : [];
  const child = await startProcess(
    name,
    process.execPath,
    [...profile, join(ROOT, 'gateway/dist/index.js')],
    env,
    `http://127.0.0.1:${port}/ready`,
  );
  return { url: `http://127.0.0.1:${port}/graphql`, pid: child.pid! };
}

async function startHive(subgraphs: SubgraphSet): Promise<{ url: string; pid: number }> {
  const port = await freePort();
  let supergraph = readFileSync(join(ROOT, 'schema/supergraph.graphql'), 'utf8');
  for (const [name, url] of Object.entries(subgraphs.subgraphUrls))
    supergraph = supergraph.replace(new RegExp(`(@join__graph\\(name: "${name}", url: ")[^"]+`), `$1${url}`);
  const supergraphPath = join(scratch, 'supergraph.graphql');
  writeFileSync(supergraphPath, supergraph);
  const env = { PATH: process.env.PATH, NODE_ENV: 'production', PQ_MANIFEST: DEFAULT_MANIFEST_PATH };
  const args = [
    'supergraph',
    supergraphPath,
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--config-path',
    join(HIVE_DIR, 'hive-gateway.config.mjs'),
  ];
  const child = await startProcess('hive', installHive(), args, env, `http://127.0.0.1:${port}/readiness`);
  return { url: `http://127.0.0.1:${port}/graphql`, pid: child.pid! };
}

const chosen = new Set(flags.variants.split(','));
const scenarios = new Set((flags.scenarios ?? (flags.soak ? 'clinician' : 'standard')).split(','));
for (const scenario of scenarios)
  if (!['standard', 'overload', 'subgraph-down', 'clinician'].includes(scenario)) fail(`--scenarios: unknown scenario "${scenario}"`);
log('starting gateways...');
const ours = await startOurGateway('gateway', production);
const naiveGateway =
  chosen.has('naive') && (scenarios.has('standard') || scenarios.has('clinician'))
    ? await startOurGateway('naive-gateway', naive)
    : { url: '', pid: undefined };
const queuedGateway =
  chosen.has('queued') && scenarios.has('standard')
    ? await startOurGateway('queued-gateway', production, { auditQueued: true })
    : { url: '', pid: undefined };
const hive =
  chosen.has('hive') && (scenarios.has('standard') || scenarios.has('overload') || scenarios.has('clinician'))
    ? await startHive(production)
    : { url: '', pid: undefined };

interface Variant {
  name: string;
  label: string;
  target: WorkloadSpec['target'];
  url: string;
  pid: number | undefined;
  cache: SubgraphSet['cache'];
}
const ALL_VARIANTS: Variant[] = [
  { name: 'gateway', label: 'this gateway (production)', target: 'gateway', url: ours.url, pid: ours.pid, cache: production.cache },
  {
    name: 'queued',
    label: 'this gateway, audit not awaited',
    target: 'gateway',
    url: queuedGateway.url,
    pid: queuedGateway.pid,
    cache: production.cache,
  },
  { name: 'hive', label: 'Hive Gateway 2.15.1', target: 'hive', url: hive.url, pid: hive.pid, cache: production.cache },
  {
    name: 'naive',
    label: 'naive (DataLoader and cache off)',
    target: 'gateway',
    url: naiveGateway.url,
    pid: naiveGateway.pid,
    cache: undefined,
  },
  {
    name: 'subgraph',
    label: 'patients subgraph, direct',
    target: 'subgraph',
    url: production.subgraphUrls.patients,
    pid: undefined,
    cache: production.cache,
  },
];
const VARIANTS = ALL_VARIANTS.filter((v) => v.name === 'gateway' || chosen.has(v.name));

/** One autocannon run in its own process; counts SQL statements and cache lookups around it. */
async function run(variant: Variant, mix: WorkloadSpec['mix'], connections: number, durationSeconds: number) {
  const spec: WorkloadSpec = {
    target: variant.target,
    url: variant.url,
    mix,
    connections,
    durationSeconds,
    callers,
    providers,
    specialties,
    operations,
    bookingFrom: tomorrow,
    bookingDays: 28,
    subgraphTokenSecret: variant.target === 'gateway' ? undefined : subgraphTokenSecret,
  };
  const specPath = join(scratch, `spec-${variant.name}-${mix}.json`);
  writeFileSync(specPath, JSON.stringify(spec));
  const cacheBefore = cacheTotals(variant.cache);
  const statementsBefore = statements;
  const cpuBefore = { gateway: cpuMs(variant.pid), subgraphs: cpuMs(process.pid) };
  const child = spawn(process.execPath, [join(ROOT, 'bench/dist/load.js'), specPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`load generator exited with ${code}`);
  const cacheAfter = cacheTotals(variant.cache);
  return {
    load: JSON.parse(stdout) as LoadResult,
    statements: statements - statementsBefore,
    cacheHits: cacheAfter.hits - cacheBefore.hits,
    cacheMisses: cacheAfter.misses - cacheBefore.misses,
    cacheByClass: Object.fromEntries(
      Object.entries(cacheAfter.byClass).map(([dataClass, { hits, misses }]) => [
        dataClass,
        { hits: hits - cacheBefore.byClass[dataClass]!.hits, misses: misses - cacheBefore.byClass[dataClass]!.misses },
      ]),
    ),
    gatewayCpuMs: cpuMs(variant.pid) - cpuBefore.gateway,
    subgraphCpuMs: cpuMs(process.pid) - cpuBefore.subgraphs,
  };
}

function cacheTotals(cache: SubgraphSet['cache']) {
  const byClass: Record<string, { hits: number; misses: number }> = {};
  let hits = 0;
  let misses = 0;
  for (const [dataClass, counters] of Object.entries(cache?.stats ?? {})) {
    byClass[dataClass] = { hits: counters.hits, misses: counters.misses };
    hits += counters.hits;
    misses += counters.misses;
  }
  return { hits, misses, byClass };
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** CPU time (user + system) a process has used so far, in milliseconds; 0 where /proc is absent or pid is undefined. */
function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return 0;
  }
}

/** Peak resident memory of a process, from the kernel's high-water mark (Linux). */
function peakRssMb(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmHWM:\s+(\d+)/.exec(status)![1]) / 1024;
  } catch {
    return undefined;
  }
}

type Runs = Awaited<ReturnType<typeof run>>[];
async function phase(name: string, variants: Variant[], mix: WorkloadSpec['mix'], connections: number): Promise<Map<Variant, Runs>> {
  log(`${name}: warming up ${variants.map((v) => v.name).join(', ')} (${flags.warmup} s each)...`);
  for (const variant of variants) await run(variant, mix, connections, Number(flags.warmup));
  const results = new Map<Variant, Runs>(variants.map((v) => [v, []]));
  for (let round = 0; round < rounds; round++) {
    // Rotate the order each round, so drift on a shared machine weighs on every variant alike.
    const order = variants.map((_, i) => variants[(i + round) % variants.length]!);
    for (const variant of order) {
      log(`${name}: round ${round + 1}/${rounds}, ${variant.name} (${seconds} s, c=${connections})`);
      results.get(variant)!.push(await run(variant, mix, connections, seconds));
    }
  }
  return results;
}

const report = (results: Map<Variant, Runs>): VariantReport[] =>
  [...results].map(([variant, runs]) =>
    summarise(variant.name, variant.label, runs, variant.cache !== undefined, variant.pid !== undefined, peakRssMb(variant.pid)),
  );

/** A records subgraph that accepts connections and never answers, for the subgraph-down scenario. */
let hung: NetServer | undefined;

try {
  if (scenarios.has('standard')) await standard();
  if (scenarios.has('overload') || scenarios.has('subgraph-down')) await resilience();
  if (scenarios.has('clinician'))
    await clinicianScenario({
      variants: VARIANTS.filter((v): v is Variant & ClinicianVariant => ['gateway', 'hive', 'naive'].includes(v.name)),
      callers,
      clientToken,
      patients: seededPatients,
      providers,
      names: NAME_PREFIXES,
      operations,
      subgraphTokenSecret,
      statements: () => statements,
      subgraphPid: process.pid,
      connections: Number(flags.connections),
      seconds,
      rounds,
      warmup: Number(flags.warmup),
      soakSeconds: flags.soak ? Number(flags['soak-seconds']) : 0,
      setup: {
        database: config.databaseUrl ? 'PostgreSQL' : 'PGlite (embedded)',
        cache: config.redis.url ? 'Redis (L2) + in-process (L1)' : 'in-process only',
        patients: seededPatients.length,
        'this gateway': config.databaseUrl ? 'NODE_ENV=production' : 'production settings (embedded database)',
      },
      scratch,
      out: flags.out,
      profileDir: flags.profile,
      log,
    });
} finally {
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(children.map((child) => (child.exitCode !== null ? undefined : new Promise((resolve) => child.on('exit', resolve)))));
  idp.close();
  hung?.close();
  await production.close();
  await naive.close();
  await audit.close();
  await db.close();
  rmSync(scratch, { recursive: true, force: true });
}

/** The portal mix, patient lookups and N+1 scaling: bench.{json,md,svg}. */
async function standard(): Promise<void> {
  const mixResults = await phase(
    'portal mix',
    VARIANTS.filter((v) => v.target !== 'subgraph'),
    'portal',
    Number(flags.connections),
  );
  const lookupResults = await phase('patient lookup', VARIANTS, 'lookup', Number(flags['lookup-connections']));

  // ---- N+1: the schedule probe through an in-process gateway, cache off so the loaders are what is counted.
  // Its 500-appointment day is over a clinician's cost budget on purpose: this phase counts SQL, so cost is measured, not enforced.
  log('N+1 scaling...');
  const nPlusOne: NPlusOneRow[] = [];
  // The naive 500-appointment day takes seconds by design: its subgraph calls get a deadline to match.
  const probeConfig = {
    ...hostConfig,
    cost: { ...hostConfig.cost, mode: 'measure' as const },
    subgraphCalls: {
      ...hostConfig.subgraphCalls,
      timeoutMs: { patients: 120_000, providers: 120_000, appointments: 120_000, records: 120_000 },
    },
  };
  const scaling = {
    dataloader: await startStack({
      config: probeConfig,
      db,
      seedPatients: 0,
      ephemeralPorts: true,
      batching: true,
      cache: { ...config.cache, enabled: false },
      log: quiet,
    }),
    naive: await startStack({
      config: probeConfig,
      db,
      seedPatients: 0,
      ephemeralPorts: true,
      batching: false,
      cache: { ...config.cache, enabled: false },
      log: quiet,
    }),
  };
  const token = await mintDevToken(config.jwt, { role: 'CLINICIAN', sub: N1_PROVIDER });
  for (const [date, appointments] of Object.entries(N1_DAYS)) {
    const samples = { dataloader: [] as number[], naive: [] as number[] };
    const sql = { dataloader: 0, naive: 0 };
    const repeats = Number(flags['n1-repeats']);
    for (let i = -3; i < repeats; i++) {
      for (const which of (i % 2 === 0 ? ['dataloader', 'naive'] : ['naive', 'dataloader']) as (keyof typeof scaling)[]) {
        const before = statements;
        const started = performance.now();
        const response = await fetch(scaling[which].gatewayUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ query: SCHEDULE_PROBE, variables: { provider: N1_PROVIDER, date, first: appointments } }),
        });
        const body = (await response.json()) as { data?: { provider: { schedule: unknown[] } }; errors?: unknown };
        if (body.errors || body.data?.provider.schedule.length !== appointments)
          throw new Error(`schedule probe failed: ${JSON.stringify(body).slice(0, 500)}`);
        if (i < 0) continue;
        samples[which].push(performance.now() - started);
        sql[which] += statements - before;
      }
    }
    nPlusOne.push({
      appointments,
      dataloader: { statements: sql.dataloader / repeats, samples: samples.dataloader },
      naive: { statements: sql.naive / repeats, samples: samples.naive },
    });
  }
  await scaling.dataloader.close();
  await scaling.naive.close();

  const dbVersion = config.databaseUrl
    ? ((await db.prisma.$queryRawUnsafe<{ version: string }[]>('select version()'))[0]?.version.split(' on ')[0] ?? 'PostgreSQL')
    : 'PGlite (embedded PostgreSQL)';
  const result: BenchReport = {
    date: new Date().toISOString(),
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      memoryGb: Math.round(totalmem() / 2 ** 30),
      kernel: release(),
      node: process.version,
    },
    setup: {
      database: dbVersion,
      cache: config.redis.url ? 'Redis (L2) + in-process (L1)' : 'in-process only',
      patients: seededPatients.length,
      secondsPerRound: seconds,
      rounds,
      connections: Number(flags.connections),
      lookupConnections: Number(flags['lookup-connections']),
      ourGateway: config.databaseUrl
        ? 'NODE_ENV=production'
        : 'production settings on the embedded database (NODE_ENV=production requires PostgreSQL)',
    },
    mix: report(mixResults),
    lookup: report(lookupResults),
    nPlusOne,
  };
  mkdirSync(flags.out, { recursive: true });
  writeFileSync(join(flags.out, 'bench.json'), `${JSON.stringify(result, null, 2)}\n`);
  const markdown = renderMarkdown(result);
  writeFileSync(join(flags.out, 'bench.md'), markdown);
  writeFileSync(join(flags.out, 'bench.svg'), renderChart(result));
  process.stdout.write(`\n${markdown}\nWritten to ${flags.out}/bench.{json,md,svg}\n`);
}

/** One run of the overload generator in its own process. */
async function overloadRun(
  variant: Variant,
  mode: OverloadSpec['mode'],
  rates: Record<OverloadClass, number>,
  durationSeconds: number,
  classCallers: Record<OverloadClass, Caller[]>,
  connections = Number(flags.connections),
): Promise<OverloadResult> {
  const spec: OverloadSpec = {
    target: variant.target,
    url: variant.url,
    mode,
    seconds: durationSeconds,
    connections,
    rates,
    callers: classCallers,
    patients: seededPatients,
    names: NAME_PREFIXES,
    operations,
    subgraphTokenSecret: variant.target === 'gateway' ? undefined : subgraphTokenSecret,
  };
  const specPath = join(scratch, `overload-${variant.name}.json`);
  writeFileSync(specPath, JSON.stringify(spec));
  const child = spawn(process.execPath, [join(ROOT, 'bench/dist/overload.js'), specPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`overload generator exited with ${code}`);
  return JSON.parse(stdout) as OverloadResult;
}

/** The overload and subgraph-down scenarios: overload.{json,md,svg}. */
async function resilience(): Promise<void> {
  const started = new Date().toISOString();
  const report: OverloadReport = {
    date: started,
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version },
    setup: {
      database: config.databaseUrl ? 'PostgreSQL' : 'PGlite (embedded)',
      cache: config.redis.url ? 'Redis (L2) + in-process (L1)' : 'in-process only',
      patients: seededPatients.length,
      'seconds per round': seconds,
      rounds,
      'subgraph-down callers': Math.min(Number(flags.connections), config.admission.concurrency),
      'this gateway': `production settings; admission ${config.admission.concurrency} at once (${config.admission.emergencyReserve} more for emergencies); rate limits off`,
    },
  };
  const gatewayVariant = VARIANTS.find((v) => v.name === 'gateway')!;
  if (scenarios.has('overload')) {
    // Callers: billing staff (back office), the portal's patients and front desk, break-glass clinicians.
    const billing: Caller[] = [];
    for (let i = 1; i <= 10; i++) {
      const sub = `stf-billing-${i}`;
      billing.push({
        role: 'BILLING',
        sub,
        purpose: DEFAULT_PURPOSE.BILLING,
        token: await clientToken('BILLING', sub),
        patients: seededPatients,
      });
    }
    const reason = 'Mass-casualty incident: unconscious on arrival';
    const breakGlass: Caller[] = [];
    for (const clinician of callers.filter((c) => c.role === 'CLINICIAN')) {
      breakGlass.push({
        ...clinician,
        purpose: 'BTG',
        reason,
        token: await clientToken('CLINICIAN', clinician.sub, reason),
        patients: seededPatients,
      });
    }
    const classCallers: Record<OverloadClass, Caller[]> = {
      'back office': billing,
      portal: callers.filter((c) => c.role === 'PATIENT' || c.role === 'SCHEDULER'),
      'break-glass': breakGlass,
    };
    const variants = [gatewayVariant, ...VARIANTS.filter((v) => v.name === 'hive')];
    log(`overload: warming up ${variants.map((v) => v.name).join(', ')} (${flags.warmup} s each)...`);
    for (const variant of variants)
      await overloadRun(variant, 'closed', { 'back office': 1, portal: 1, 'break-glass': 1 }, Number(flags.warmup), classCallers);
    // Capacity: callers sending back to back, as many as this gateway admits at once (more would
    // only be refused and retry at once, measuring the refusals rather than the service).
    const capacityConnections = Math.min(Number(flags.connections), config.admission.concurrency);
    log(`overload: capacity of this gateway on back office and portal, closed loop c=${capacityConnections} (${seconds} s)`);
    const capacityRun = await overloadRun(
      gatewayVariant,
      'closed',
      { 'back office': 1, portal: 1, 'break-glass': 0 },
      seconds,
      classCallers,
      capacityConnections,
    );
    const capacity = (capacityRun.byClass['back office'].served + capacityRun.byClass.portal.served) / capacityRun.seconds;
    const offered = flags.offered ? Number(flags.offered) : 2 * capacity;
    const rates: Record<OverloadClass, number> = {
      'back office': Math.round(offered / 2),
      portal: Math.round(offered / 2),
      'break-glass': 5,
    };
    const runs = new Map<Variant, OverloadResult[]>(variants.map((v) => [v, []]));
    for (let r = 0; r < rounds; r++) {
      const order = variants.map((_, i) => variants[(i + r) % variants.length]!);
      for (const variant of order) {
        log(
          `overload: round ${r + 1}/${rounds}, ${variant.name} (${seconds} s, ${rates['back office'] + rates.portal} req/s offered + ${rates['break-glass']} break-glass)`,
        );
        runs.get(variant)!.push(await overloadRun(variant, 'open', rates, seconds, classCallers));
        // Let the backlog of the previous run drain before the next starts.
        await new Promise((resolve) => setTimeout(resolve, 3_000));
      }
    }
    report.overload = {
      capacityPerSecond: Math.round(capacity),
      capacityConnections,
      rates,
      variants: [...runs].map(([variant, results]) => summariseOverload(variant.name, variant.label, results)),
    };
  }
  if (scenarios.has('subgraph-down')) {
    // Records hung (accepts, never answers) and records gone (nothing listens), each behind its own gateway process.
    const sockets = new Set<Socket>();
    hung = createNetServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.once('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => hung!.listen(0, '127.0.0.1', resolve));
    hung.on('close', () => {
      for (const socket of sockets) socket.destroy();
    });
    const hungUrl = `http://127.0.0.1:${(hung.address() as AddressInfo).port}/graphql`;
    const goneUrl = `http://127.0.0.1:${await freePort()}/graphql`;
    // Three gateway processes started together, so that none is warmer than the others.
    const down = {
      up: await startOurGateway('gateway-records-up', production),
      hung: await startOurGateway('gateway-records-hung', production, { urls: { records: hungUrl } }),
      gone: await startOurGateway('gateway-records-gone', production, { urls: { records: goneUrl } }),
    };
    const variants: Variant[] = [
      { ...gatewayVariant, name: 'normal', label: 'records up', url: down.up.url, pid: down.up.pid },
      { ...gatewayVariant, name: 'hung', label: 'records hung (accepts, never answers)', url: down.hung.url, pid: down.hung.pid },
      { ...gatewayVariant, name: 'gone', label: 'records gone (connection refused)', url: down.gone.url, pid: down.gone.pid },
    ];
    // No more callers than the gateway admits at once: what is measured is the fault, not admission.
    const connections = Math.min(Number(flags.connections), config.admission.concurrency);
    log(`subgraph down: warming up (${flags.warmup} s each)...`);
    for (const variant of variants) await run(variant, 'degraded', connections, Number(flags.warmup));
    const results = new Map<Variant, LoadResult[]>(variants.map((v) => [v, []]));
    for (let r = 0; r < rounds; r++) {
      const order = variants.map((_, i) => variants[(i + r) % variants.length]!);
      for (const variant of order) {
        log(`subgraph down: round ${r + 1}/${rounds}, ${variant.name} (${seconds} s, c=${connections})`);
        results.get(variant)!.push((await run(variant, 'degraded', connections, seconds)).load);
      }
    }
    report.degraded = [...results].map(([variant, loads]): DegradedVariant => summariseDegraded(variant.name, variant.label, loads));
  }
  mkdirSync(flags.out, { recursive: true });
  writeFileSync(join(flags.out, 'overload.json'), `${JSON.stringify(report, null, 2)}\n`);
  const markdown = renderOverloadMarkdown(report);
  writeFileSync(join(flags.out, 'overload.md'), markdown);
  writeFileSync(join(flags.out, 'overload.svg'), renderOverloadChart(report));
  process.stdout.write(`\n${markdown}\nWritten to ${flags.out}/overload.{json,md,svg}\n`);
}
