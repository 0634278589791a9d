import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StatefulSet } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { CronJob, Job } from 'kubernetes-models/batch/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { type Manifest, podSpecsOf, readManifests, renderKustomization } from './helpers/kustomize.js';

/**
 * The deployment files (Dockerfile, compose.yaml, .env.example, deploy/k8s) checked offline: every
 * Kubernetes object against the API schema with unknown fields refused, the kustomize overlay
 * rendered, and every command, port, variable and probe path they name found in the code. A typo
 * in any of them fails here, not in a cluster.
 */

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const K8S = join(ROOT, 'deploy/k8s');

const SUBGRAPHS = ['patients', 'providers', 'appointments', 'records'] as const;
const SERVICES = ['gateway', ...SUBGRAPHS] as const;
const IMAGE_NAME = 'healthgraph';

// ---- what the code reads ------------------------------------------------------------------------

/** Source files of the services and their tools (tests and benchmarks excluded). */
function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'generated' && entry.name !== 'node_modules') out.push(...sourceFiles(path));
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}
const SOURCES = [
  'platform/src',
  'gateway/src',
  'subgraphs/kit/src',
  ...SUBGRAPHS.map((s) => `subgraphs/${s}/src`),
  'stack/src',
  'prisma/src',
].flatMap(sourceFiles);

/** Variables the code reads: envReader calls (`read.port('GATEWAY_PORT', …)`) and direct `env.NAME` reads. */
const CODE_ENV = new Set(
  SOURCES.flatMap((file) => {
    const text = read(file);
    return [
      ...text.matchAll(/\bread\.(?:string|positive|seconds|milliseconds|port|oneOf|toggle|list)\(\s*'([A-Z][A-Z0-9_]*)'/g),
      ...text.matchAll(/\b(?:process\.)?env\.([A-Z][A-Z0-9_]+)\b/g),
      ...text.matchAll(/\bwhole\('([A-Z][A-Z0-9_]*)'/g),
    ].map((match) => match[1]!);
  }),
);
/** Read only to refuse them with a pointer to their successor: never to be set. */
const RETIRED = new Set(['AUDIT_SPILL_DIR', 'PQ_BYPASS_CLIENTS']);
/** Read by Node itself, not by the code. */
const NODE_ENV_VARS = new Set(['NODE_OPTIONS']);

/** The default port of each service, as platform/src/config.ts states it. */
const DEFAULT_PORTS = Object.fromEntries(
  [...read('platform/src/config.ts').matchAll(/(\w+): read\.port\('([A-Z]+)_PORT', (\d+)\)/g)].map((m) => [m[1]!, Number(m[3])]),
) as Record<(typeof SERVICES)[number], number>;

/** Routes each kind of service serves besides /graphql. */
const routesIn = (file: string) =>
  new Set([...read(file).matchAll(/'(\/[a-z]+)': (?:healthRoute|readyRoute|metricsRoute)\(/g)].map((m) => m[1]!));
const ROUTES = { gateway: routesIn('gateway/src/server.ts'), subgraph: routesIn('subgraphs/kit/src/subgraph.ts') };
const GRAPHQL_PATH = /graphqlPath = '([^']+)'/.exec(read('platform/src/http.ts'))![1]!;

/** The subcommands the migration CLI accepts. */
const MIGRATE_COMMANDS = new Set([...read('prisma/src/migrate-cli.ts').matchAll(/command === '([a-z]+)'/g)].map((m) => m[1]!));

/**
 * Checks a container command against the code: `node <pkg>/dist/<file>.js [args]` must have its
 * source, a subgraph entry must run that subgraph, and the migration CLI must know its subcommand.
 * Returns the service it starts, if any.
 */
function checkCommand(command: unknown, where: string): (typeof SERVICES)[number] | 'migrate' {
  expect(Array.isArray(command), `${where}: command is a list`).toBe(true);
  const [node, entry, ...args] = command as string[];
  expect(node, where).toBe('node');
  const source = entry!.replace('/dist/', '/src/').replace(/\.js$/, '.ts');
  expect(existsSync(join(ROOT, source)), `${where}: ${entry} is built from ${source}, which does not exist`).toBe(true);
  if (entry === 'gateway/dist/index.js') return 'gateway';
  const subgraph = /^subgraphs\/(\w+)\/dist\/index\.js$/.exec(entry!)?.[1];
  if (subgraph) {
    expect(read(source), `${where}: ${source} runs the ${subgraph} subgraph`).toContain(`runSubgraph('${subgraph}'`);
    return subgraph as (typeof SUBGRAPHS)[number];
  }
  expect(entry, where).toBe('prisma/dist/migrate-cli.js');
  expect(MIGRATE_COMMANDS, `${where}: migrate-cli.js has no command "${args[0]}"`).toContain(args[0]);
  return 'migrate';
}

// ---- Kubernetes ---------------------------------------------------------------------------------

type ModelClass = { prototype: { validate(): void } };
const MODELS: Record<string, ModelClass> = {
  'v1/Namespace': Namespace,
  'v1/ServiceAccount': ServiceAccount,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/StatefulSet': StatefulSet,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'batch/v1/Job': Job,
  'batch/v1/CronJob': CronJob,
};

/**
 * Validates an object against its Kubernetes API schema and returns the fields the schema does not
 * know. The schemas allow unknown fields (the API server would refuse them with strict field
 * validation), so the validator's reads are watched: a field it never looked at is not in the schema.
 */
function validateStrictly(object: Manifest): string[] {
  const model = MODELS[`${object.apiVersion}/${object.kind}`];
  if (!model) return [`${object.apiVersion}/${object.kind} is not a kind these checks know`];
  const seen = new Set<string>();
  const watch = (value: unknown, path: string): unknown => {
    if (value === null || typeof value !== 'object') return value;
    return new Proxy(value, {
      get(target, key, receiver) {
        if (typeof key === 'string') seen.add(`${path}/${key}`);
        return watch(Reflect.get(target, key, receiver), `${path}/${String(key)}`);
      },
      ownKeys(target) {
        for (const key of Reflect.ownKeys(target)) if (typeof key === 'string') seen.add(`${path}/${key}`);
        return Reflect.ownKeys(target);
      },
    });
  };
  model.prototype.validate.call(watch(object, ''));
  const unknown: string[] = [];
  const walk = (value: unknown, path: string) => {
    if (value === null || typeof value !== 'object') return;
    for (const [key, child] of Object.entries(value)) {
      const at = `${path}/${key}`;
      if (seen.has(at)) walk(child, at);
      else unknown.push(`unknown field ${at}`);
    }
  };
  walk(object, '');
  return unknown;
}

const baseFiles = readdirSync(join(K8S, 'base')).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
const overlay = join(K8S, 'overlays/production');
/** The production overlay, with the committed example standing in for the secrets file an operator makes. */
const rendered = renderKustomization(overlay, {
  readFile: (path) => readFileSync(path.endsWith('/secrets.env') && !existsSync(path) ? `${path}.example` : path, 'utf8'),
});
const objects = (kind: string) => rendered.filter((o) => o.kind === kind);
const find = (kind: string, name: string) => {
  const object = rendered.find((o) => o.kind === kind && o.metadata.name === name);
  expect(object, `${kind}/${name} is rendered`).toBeDefined();
  return object as Manifest & { spec: any };
};
const containerOf = (workload: Manifest) => (podSpecsOf(workload)[0]!.containers as any[])[0];
const labelsMatch = (selector: Record<string, string> = {}, labels: Record<string, string> = {}) =>
  Object.entries(selector).every(([key, value]) => labels[key] === value);

describe('Kubernetes manifests', () => {
  it.each(baseFiles)('base/%s is valid against the Kubernetes API schema, with no unknown field', (file) => {
    const manifests = readManifests(join(K8S, 'base', file));
    expect(manifests.length).toBeGreaterThan(0);
    for (const manifest of manifests) expect(validateStrictly(manifest), `${manifest.kind}/${manifest.metadata?.name}`).toEqual([]);
  });

  it('catches a misspelt field, a wrong type and an unknown enum value', () => {
    const service = structuredClone(find('Service', 'gateway'));
    service.spec.ports[0].targtPort = 'http';
    expect(validateStrictly(service)).toEqual(['unknown field /spec/ports/0/targtPort']);
    const workload = structuredClone(find('StatefulSet', 'patients'));
    containerOf(workload).securityContext.readOnlyRootFilesytem = true;
    expect(validateStrictly(workload)).toEqual(['unknown field /spec/template/spec/containers/0/securityContext/readOnlyRootFilesytem']);
    workload.spec.replicas = 'two';
    expect(() => validateStrictly(workload)).toThrow(/replicas/);
    const policy = structuredClone(find('NetworkPolicy', 'subgraphs-from-gateway'));
    policy.spec.policyTypes = ['Ingres'];
    expect(() => validateStrictly(policy)).toThrow(/policyTypes/);
  });

  it('renders the production overlay: namespace, image, generated secret, patches, all schema-valid', () => {
    expect(rendered.length).toBeGreaterThan(20);
    for (const object of rendered) expect(validateStrictly(object), `${object.kind}/${object.metadata.name}`).toEqual([]);
    for (const object of rendered.filter((o) => o.kind !== 'Namespace'))
      expect(object.metadata.namespace, object.metadata.name).toBe('healthgraph');
    const images = rendered.flatMap(podSpecsOf).flatMap((pod) => (pod.containers as any[]).map((c) => c.image as string));
    expect(new Set(images)).toEqual(new Set(['registry.example.org/healthgraph/healthgraph:0.1.0']));
    expect(containerOf(find('StatefulSet', 'gateway')).resources.requests.cpu).toBe('1');
    expect(find('ConfigMap', 'healthgraph-config').data).toMatchObject({ CACHE_PREFIX: 'hg-prod', NODE_ENV: 'production' });
    expect(Object.keys(find('Secret', 'healthgraph-secrets').data as object).sort()).toEqual(
      ['CACHE_ENCRYPTION_KEY', 'DATABASE_URL', 'JWT_ISSUER', 'JWT_JWKS_URL', 'REDIS_URL', 'SUBGRAPH_TOKEN_SECRET'].sort(),
    );
  });

  it('the renderer refuses what it does not implement, and a patch or image that matches nothing', () => {
    expect(() => renderKustomization(join(ROOT, 'test/fixtures/kustomize/unsupported'))).toThrow(/commonLabels/);
    expect(() => renderKustomization(join(ROOT, 'test/fixtures/kustomize/stray-patch'))).toThrow(/StatefulSet\/gatewy/);
  });

  it.each(SERVICES)('%s runs restricted: non-root, read-only root, no capabilities, RuntimeDefault seccomp, bounded resources', (name) => {
    const workload = find('StatefulSet', name);
    const pod = podSpecsOf(workload)[0] as any;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.automountServiceAccountToken).toBe(false);
    const container = containerOf(workload);
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    for (const kind of ['requests', 'limits']) expect(Object.keys(container.resources[kind]).sort()).toEqual(['cpu', 'memory']);
    // A CPU amount in cores or millicores, memory in Mi or Gi, and no request above its limit.
    const cpu = (q: string) => (/^\d+m$/.test(q) ? Number(q.slice(0, -1)) / 1000 : /^\d+(\.\d+)?$/.test(q) ? Number(q) : Number.NaN);
    const memory = (q: string) =>
      /^\d+Mi$/.test(q) ? Number(q.slice(0, -2)) : /^\d+Gi$/.test(q) ? Number(q.slice(0, -2)) * 1024 : Number.NaN;
    const { requests, limits } = container.resources;
    for (const [request, limit, parse] of [
      [requests.cpu, limits.cpu, cpu],
      [requests.memory, limits.memory, memory],
    ] as const) {
      expect(parse(String(request)), `${name} request ${request}`).toBeGreaterThan(0);
      expect(parse(String(limit)), `${name} limit ${limit}`).toBeGreaterThanOrEqual(parse(String(request)));
    }
  });

  it.each(SERVICES)('%s: its command, port, probes and Services match the code', (name) => {
    const workload = find('StatefulSet', name);
    const container = containerOf(workload);
    expect(checkCommand(container.command, `StatefulSet/${name}`)).toBe(name);
    const port = DEFAULT_PORTS[name];
    expect(container.ports).toEqual([{ name: 'http', containerPort: port, protocol: 'TCP' }]);
    expect(container.env).toContainEqual({ name: `${name.toUpperCase()}_PORT`, value: String(port) });
    const routes = name === 'gateway' ? ROUTES.gateway : ROUTES.subgraph;
    for (const [probe, path] of [
      ['startupProbe', '/health'],
      ['livenessProbe', '/health'],
      ['readinessProbe', '/ready'],
    ] as const) {
      expect(container[probe].httpGet, `${name} ${probe}`).toEqual({ path, port: 'http' });
      expect(routes, `${name} serves ${path}`).toContain(path);
    }
    const labels = workload.spec.template.metadata.labels;
    expect(labelsMatch(workload.spec.selector.matchLabels, labels)).toBe(true);
    for (const serviceName of [name, workload.spec.serviceName]) {
      const service = find('Service', serviceName);
      expect(labelsMatch(service.spec.selector, labels), `Service/${serviceName} selects ${name}`).toBe(true);
      expect(service.spec.ports).toEqual([{ name: 'http', port, targetPort: 'http', protocol: 'TCP' }]);
    }
    expect(find('Service', workload.spec.serviceName).spec.clusterIP).toBe('None');
    const annotations = workload.spec.template.metadata.annotations;
    expect(annotations['prometheus.io/port']).toBe(String(port));
    expect(ROUTES[name === 'gateway' ? 'gateway' : 'subgraph']).toContain(annotations['prometheus.io/path']);
  });

  it.each(SERVICES)('%s keeps its audit journal on a volume of its own that outlives the pod', (name) => {
    const workload = find('StatefulSet', name);
    const configMap = find('ConfigMap', 'healthgraph-config').data as Record<string, string>;
    const mounts = containerOf(workload).volumeMounts as { name: string; mountPath: string }[];
    const journal = mounts.find((m) => m.mountPath === configMap.AUDIT_JOURNAL_DIR);
    expect(journal, 'AUDIT_JOURNAL_DIR is mounted').toBeDefined();
    const claims = workload.spec.volumeClaimTemplates.map((t: Manifest) => t.metadata.name);
    expect(claims).toContain(journal!.name);
    expect(workload.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' });
    expect(mounts.map((m) => m.mountPath)).toContain('/tmp');
  });

  it.each(SERVICES)('%s is scaled by an HPA and protected by a PDB', (name) => {
    const workload = find('StatefulSet', name);
    const hpa = find('HorizontalPodAutoscaler', name);
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'StatefulSet', name });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    const pdb = find('PodDisruptionBudget', name);
    expect(labelsMatch(pdb.spec.selector.matchLabels, workload.spec.template.metadata.labels)).toBe(true);
    expect(pdb.spec.minAvailable).toBeLessThan(hpa.spec.minReplicas);
  });

  it('lets only the gateway reach the subgraphs, and denies every other ingress by default', () => {
    const policies = objects('NetworkPolicy') as (Manifest & { spec: any })[];
    const deny = policies.find((p) => Object.keys(p.spec.podSelector).length === 0);
    expect(deny?.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress'] });
    const gatewayLabels = find('StatefulSet', 'gateway').spec.template.metadata.labels;
    for (const name of SUBGRAPHS) {
      const labels = find('StatefulSet', name).spec.template.metadata.labels;
      const port = DEFAULT_PORTS[name];
      const rules = policies
        .filter((p) => labelsMatch(p.spec.podSelector.matchLabels, labels) && Object.keys(p.spec.podSelector).length > 0)
        .flatMap((p) => p.spec.ingress as any[])
        .filter((rule) => (rule.ports as any[]).some((p) => p.port === port));
      expect(rules.length, `${name} is reachable on ${port}`).toBeGreaterThan(0);
      for (const rule of rules)
        for (const peer of rule.from as any[]) {
          if (peer.podSelector)
            expect(labelsMatch(peer.podSelector.matchLabels, gatewayLabels), `${name}: a pod peer other than the gateway`).toBe(true);
          else
            expect(peer.namespaceSelector.matchLabels, `${name}: only the monitoring namespace besides the gateway`).toEqual({
              'kubernetes.io/metadata.name': 'monitoring',
            });
          expect(peer.ipBlock).toBeUndefined();
        }
      // The gateway is not a subgraph: its policy must not open it to the subgraphs' peers either way.
      expect(labelsMatch({ 'app.kubernetes.io/component': 'subgraph' }, gatewayLabels)).toBe(false);
    }
  });

  it('every variable, Secret key and ConfigMap key a container gets is one the code reads', () => {
    const configMap = find('ConfigMap', 'healthgraph-config').data as Record<string, string>;
    const secret = find('Secret', 'healthgraph-secrets').data as Record<string, string>;
    for (const key of Object.keys(configMap)) expect(CODE_ENV, `ConfigMap key ${key}`).toContain(key);
    for (const workload of [...objects('StatefulSet'), ...objects('Job'), ...objects('CronJob')])
      for (const pod of podSpecsOf(workload))
        for (const container of pod.containers as any[]) {
          const where = `${workload.kind}/${workload.metadata.name}`;
          if (workload.kind !== 'StatefulSet') checkCommand(container.command, where);
          for (const source of container.envFrom ?? []) expect(source.configMapRef?.name, where).toBe('healthgraph-config');
          for (const env of container.env ?? []) {
            expect(CODE_ENV, `${where} sets ${env.name}`).toContain(env.name);
            const ref = env.valueFrom?.secretKeyRef;
            if (ref) {
              expect(ref.name, where).toBe('healthgraph-secrets');
              // An optional key (a read replica) may be left out of the Secret; the container then runs without it.
              if (!ref.optional) expect(Object.keys(secret), `${where}: secret key ${ref.key}`).toContain(ref.key);
            }
          }
        }
  });

  it('the gateway finds each subgraph at a Service that exists, on its port and GraphQL path', () => {
    const env = containerOf(find('StatefulSet', 'gateway')).env as { name: string; value?: string }[];
    for (const name of SUBGRAPHS) {
      const value = env.find((e) => e.name === `${name.toUpperCase()}_URL`)?.value;
      const url = new URL(value!);
      expect(url.hostname).toBe(name);
      expect(find('Service', name).spec.ports[0].port).toBe(Number(url.port));
      expect(url.pathname).toBe(GRAPHQL_PATH);
    }
    expect(env).toContainEqual({ name: 'PQ_MODE', value: 'safelist' });
    expect(env.map((e) => e.name)).toEqual(expect.arrayContaining(['JWT_JWKS_URL', 'SUBGRAPH_TOKEN_SECRET', 'DATABASE_URL']));
  });
});

// ---- compose ------------------------------------------------------------------------------------

const compose = parseYaml(read('compose.yaml'), { merge: true }) as { services: Record<string, any>; volumes: Record<string, unknown> };
const composeVariables = [...read('compose.yaml').matchAll(/\$\{([A-Z][A-Z0-9_]*)(?::?[-?][^}]*)?\}/g)].map((m) => m[1]!);
const ENV_EXAMPLE = new Map(
  read('.env.example')
    .split('\n')
    .map((line) => /^#?\s*([A-Z][A-Z0-9_]*)=(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1]!, m[2]!] as const),
);
const COMPOSE_ONLY = new Set(
  read('.env.example')
    .split('# ---- Read by the services')[0]!
    .split('\n')
    .map((line) => /^#?\s*([A-Z][A-Z0-9_]*)=/.exec(line)?.[1])
    .filter((name): name is string => Boolean(name)),
);
const ours = Object.entries(compose.services).filter(([, service]) => String(service.image).includes(IMAGE_NAME));

describe('compose.yaml', () => {
  it('parses and runs PostgreSQL 15, Redis 7, the migration, the four subgraphs and the gateway', () => {
    expect(compose.services.postgres.image).toMatch(/^postgres:15/);
    expect(compose.services.redis.image).toMatch(/^redis:7/);
    expect(ours.map(([name]) => name).sort()).toEqual(['migrate', ...SERVICES].sort());
    for (const [name, service] of Object.entries(compose.services))
      for (const dependency of Object.keys(service.depends_on ?? {}))
        expect(compose.services, `${name} depends on ${dependency}`).toHaveProperty(dependency);
  });

  it.each(ours.map(([name]) => name))('%s: command, port, variables, probe and volume match the code', (name) => {
    const service = compose.services[name];
    const started = checkCommand(service.command, `compose ${name}`);
    expect(started).toBe(name);
    for (const key of Object.keys(service.environment)) expect(CODE_ENV, `compose ${name} sets ${key}`).toContain(key);
    expect(service.environment.NODE_ENV).toBe('production');
    expect(service.read_only).toBe(true);
    expect(service.cap_drop).toEqual(['ALL']);
    if (started === 'migrate') return;
    const port = DEFAULT_PORTS[started];
    expect(service.environment[`${started.toUpperCase()}_PORT`]).toBe(String(port));
    const probe = service.healthcheck.test.join(' ');
    expect(probe).toContain(`http://127.0.0.1:${port}/ready`);
    expect(ROUTES[started === 'gateway' ? 'gateway' : 'subgraph']).toContain('/ready');
    const journal = (service.volumes as string[]).find((v) => v.endsWith(`:${service.environment.AUDIT_JOURNAL_DIR}`));
    expect(journal, `${name} keeps AUDIT_JOURNAL_DIR on a volume`).toBeDefined();
    expect(compose.volumes).toHaveProperty(journal!.split(':')[0]!);
  });

  it('the gateway is production-shaped: JWKS, safelist, secrets from the environment, subgraphs by service name', () => {
    const env = compose.services.gateway.environment as Record<string, string>;
    expect(env.PQ_MODE).toBe('safelist');
    for (const secret of ['JWT_JWKS_URL', 'SUBGRAPH_TOKEN_SECRET']) expect(env[secret]).toMatch(new RegExp(`^\\$\\{${secret}:\\?`));
    for (const name of SUBGRAPHS) {
      const url = new URL(env[`${name.toUpperCase()}_URL`]!);
      expect(url.hostname).toBe(name);
      expect(Number(url.port)).toBe(DEFAULT_PORTS[name]);
      expect(url.pathname).toBe(GRAPHQL_PATH);
    }
    expect(compose.services.patients.environment.CACHE_ENCRYPTION_KEY).toMatch(/^\$\{CACHE_ENCRYPTION_KEY:\?/);
    // Only the gateway is published; the rest sit on the internal network.
    expect(ours.filter(([, s]) => s.ports).map(([n]) => n)).toEqual(['gateway']);
  });

  it('every variable compose interpolates is listed in .env.example', () => {
    for (const name of new Set(composeVariables)) expect(ENV_EXAMPLE.has(name), `\${${name}} is in .env.example`).toBe(true);
    for (const name of COMPOSE_ONLY) expect(composeVariables, `${name} is compose-only but compose.yaml does not use it`).toContain(name);
  });
});

// ---- Dockerfile ---------------------------------------------------------------------------------

const DOCKERFILE = read('Dockerfile');
const stage = (name: string) => DOCKERFILE.split(/^FROM /m).find((s) => new RegExp(` AS ${name}$`).test(s.split('\n')[0]!))!;
/** The workspaces the services import, following @healthgraph dependencies from the five entry points. */
function runtimeWorkspaces(): Map<string, string> {
  const folders = new Map<string, string>();
  for (const folder of [
    'prisma',
    'platform',
    'subgraphs/kit',
    ...SUBGRAPHS.map((s) => `subgraphs/${s}`),
    'gateway',
    'stack',
    'bench',
    'test',
  ])
    folders.set(JSON.parse(read(`${folder}/package.json`)).name, folder);
  const needed = new Map<string, string>();
  const visit = (name: string) => {
    if (needed.has(name)) return;
    const folder = folders.get(name)!;
    needed.set(name, folder);
    for (const dependency of Object.keys(JSON.parse(read(`${folder}/package.json`)).dependencies ?? {}))
      if (dependency.startsWith('@healthgraph/')) visit(dependency);
  };
  for (const name of ['@healthgraph/gateway', ...SUBGRAPHS.map((s) => `@healthgraph/${s}`), '@healthgraph/db']) visit(name);
  return needed;
}

describe('Dockerfile', () => {
  const runtime = stage('runtime');
  const copied = [...runtime.matchAll(/^COPY --from=build \S+ (.+) (\S+)$/gm)].flatMap((m) =>
    m[1]!.split(' ').map((source) => source.replace(/^\/app\//, '')),
  );
  const covered = (path: string) =>
    copied.some((source) => {
      const pattern = new RegExp(`^${source.replace(/[.]/g, '\\.').replace(/\*/g, '[^/]*')}(/.*)?$`);
      return pattern.test(path);
    });

  it('runs as a non-root user, in production, with the gateway as the default command', () => {
    expect(runtime).toMatch(/^USER 1000:1000$/m);
    expect(runtime).toMatch(/NODE_ENV=production/);
    const cmd = JSON.parse(/^CMD (.+)$/m.exec(runtime)![1]!);
    expect(checkCommand(cmd, 'Dockerfile CMD')).toBe('gateway');
    expect(DOCKERFILE).toMatch(/^ARG NODE_IMAGE=node:20[.\d]*-/m);
  });

  it('sets only variables the code reads, and keeps the journal where its volume is', () => {
    const env = [...runtime.matchAll(/\b([A-Z][A-Z0-9_]+)=\S+/g)].map((m) => m[1]!);
    for (const name of env) if (!NODE_ENV_VARS.has(name)) expect(CODE_ENV, `Dockerfile ENV ${name}`).toContain(name);
    const journal = /AUDIT_JOURNAL_DIR=(\S+)/.exec(runtime)![1]!;
    expect(runtime).toContain(`VOLUME ["${journal}"]`);
  });

  it('installs production dependencies for every workspace a service imports, and copies each one', () => {
    const deps = stage('deps');
    expect(deps).toMatch(/npm ci [^\n]*--omit=dev/);
    const named = new Set([...deps.matchAll(/--workspace=(\S+)/g)].map((m) => m[1]!));
    const needed = runtimeWorkspaces();
    expect([...named].sort()).toEqual([...needed.keys()].sort());
    for (const folder of needed.values()) {
      expect(covered(`${folder}/dist/index.js`) || covered(`${folder}/dist/server.js`), `${folder}/dist is copied`).toBe(true);
      expect(covered(`${folder}/package.json`), `${folder}/package.json is copied`).toBe(true);
    }
    // npm nests a workspace's own versions in <workspace>/node_modules: all of them are carried over.
    expect(deps).toContain('find . -type d -name node_modules -prune -exec cp -a --parents {} /modules/');
    expect(runtime).toContain('COPY --from=deps --chown=root:root /modules/ ./');
  });

  it('copies every file the services read at run time', () => {
    for (const name of SUBGRAPHS) expect(covered(`schema/${name}.graphql`), `schema/${name}.graphql`).toBe(true);
    for (const path of [
      'schema/supergraph.graphql',
      'schema/persisted-query-manifest.json',
      'prisma/schema.prisma',
      'prisma/migrations/migration_lock.toml',
    ])
      expect(covered(path), path).toBe(true);
  });

  it('.dockerignore keeps secrets, local data and build output out of the context', () => {
    const ignored = read('.dockerignore').split('\n');
    for (const entry of ['.env', '.data', '**/node_modules', '**/dist', '.git']) expect(ignored).toContain(entry);
  });
});

// ---- the configuration is documented everywhere -------------------------------------------------

describe('every variable the code reads is documented', () => {
  const documented = [...CODE_ENV].filter((name) => !RETIRED.has(name)).sort();
  const readme = read('README.md');
  const turbo = JSON.parse(read('turbo.json')).globalPassThroughEnv as string[];

  it('finds the variables (the extraction itself works)', () => {
    expect(documented).toEqual(
      expect.arrayContaining(['DATABASE_URL', 'GATEWAY_PORT', 'JWT_JWKS_URL', 'AUDIT_RETENTION_MONTHS', 'CACHE_TTL_PATIENT']),
    );
  });
  it.each(documented)('%s is in .env.example, the README and turbo.json', (name) => {
    expect(ENV_EXAMPLE.has(name), '.env.example').toBe(true);
    expect(turbo, 'turbo.json globalPassThroughEnv').toContain(name);
    // The table groups a few families: `LIMIT_MAX_*`, and `COST_BUDGET_PATIENT`, `…_CLINICIAN`, ...
    const family = name.startsWith('LIMIT_MAX_')
      ? readme.includes('`LIMIT_MAX_*`')
      : name.startsWith('COST_BUDGET_') &&
        readme.includes('`COST_BUDGET_PATIENT`') &&
        readme.includes(`\`…_${name.slice('COST_BUDGET_'.length)}\``);
    expect(readme.includes(`\`${name}\``) || family, 'README configuration table').toBe(true);
  });
});
