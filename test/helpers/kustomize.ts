import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';

/** A Kubernetes object as read from YAML. */
export type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
} & Record<string, unknown>;

/** Parses every document of a YAML file; a syntax error or warning fails. */
export function readManifests(path: string): Manifest[] {
  const documents = parseAllDocuments(readFileSync(path, 'utf8'));
  return documents.flatMap((document) => {
    if (document.errors.length || document.warnings.length)
      throw new Error(`${path}: ${[...document.errors, ...document.warnings].map((e) => e.message).join('; ')}`);
    const value = document.toJS() as Manifest | null;
    return value === null ? [] : [value];
  });
}

/** Kinds that live outside any namespace (the ones used here). */
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'PersistentVolume', 'StorageClass']);

/** The kustomization fields this renderer implements; any other field fails the render rather than being ignored. */
const SUPPORTED = new Set(['apiVersion', 'kind', 'resources', 'namespace', 'images', 'patches', 'secretGenerator', 'generatorOptions']);

interface Kustomization {
  resources?: string[];
  namespace?: string;
  images?: { name: string; newName?: string; newTag?: string }[];
  patches?: { path: string; target: { kind: string; name: string } }[];
  secretGenerator?: { name: string; envs?: string[]; literals?: string[]; type?: string }[];
  generatorOptions?: { disableNameSuffixHash?: boolean };
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Strategic merge as kustomize applies it to the fields used here: maps merge key by key; lists of
 * objects that all carry `name` (containers, env, ports, volumes, volumeMounts) merge item by name;
 * any other list, and every scalar, is replaced.
 */
export function strategicMerge(base: unknown, patch: unknown): unknown {
  if (isObject(base) && isObject(patch)) {
    const merged: Record<string, unknown> = { ...base };
    for (const [key, value] of Object.entries(patch)) merged[key] = key in base ? strategicMerge(base[key], value) : value;
    return merged;
  }
  const named = (list: unknown): list is Record<string, unknown>[] =>
    Array.isArray(list) && list.every((item) => isObject(item) && typeof item.name === 'string');
  if (named(base) && named(patch)) {
    const merged = base.map((item) => {
      const change = patch.find((p) => p.name === item.name);
      return change ? strategicMerge(item, change) : item;
    });
    for (const item of patch) if (!base.some((b) => b.name === item.name)) merged.push(item);
    return merged;
  }
  return patch;
}

/** Every pod spec in an object (workloads, Jobs, CronJobs). */
export function podSpecsOf(manifest: Manifest): Record<string, unknown>[] {
  const spec = manifest.spec as Record<string, any> | undefined;
  if (!spec) return [];
  if (manifest.kind === 'CronJob') return [spec.jobTemplate?.spec?.template?.spec].filter(isObject);
  return [spec.template?.spec].filter(isObject);
}

/** Reads env files as kustomize does: KEY=VALUE lines, `#` comments and blank lines skipped. */
function readEnvFile(text: string): [string, string][] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const at = line.indexOf('=');
      if (at < 1) throw new Error(`not a KEY=VALUE line: ${line}`);
      return [line.slice(0, at), line.slice(at + 1)];
    });
}

export interface RenderOptions {
  /** Reads a file the kustomization names (generators); lets a test stand an example file in for a secret one. */
  readFile?: (path: string) => string;
}

/**
 * Renders a kustomization directory (the subset of kustomize this repository uses: resources,
 * namespace, images, strategic-merge patches by target, secretGenerator from env files without
 * name hashes). Fails on any field it does not implement, on a patch whose target is missing, and
 * on an image override that matches no container, so a renamed object cannot slip through.
 */
export function renderKustomization(dir: string, options: RenderOptions = {}): Manifest[] {
  const readFile = options.readFile ?? ((path: string) => readFileSync(path, 'utf8'));
  const [file] = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'].map((name) => join(dir, name)).filter(existsSync);
  if (!file) throw new Error(`${dir} has no kustomization.yaml`);
  const [kustomization] = readManifests(file) as unknown as Kustomization[];
  if (!kustomization) throw new Error(`${file} is empty`);
  for (const key of Object.keys(kustomization))
    if (!SUPPORTED.has(key)) throw new Error(`${relative(process.cwd(), file)}: the field "${key}" is not implemented by this renderer`);

  let objects: Manifest[] = [];
  for (const resource of kustomization.resources ?? []) {
    const path = join(dir, resource);
    objects.push(...(statSync(path).isDirectory() ? renderKustomization(path, options) : readManifests(path)));
  }

  for (const generator of kustomization.secretGenerator ?? []) {
    if (!kustomization.generatorOptions?.disableNameSuffixHash)
      throw new Error(`${file}: generated names with hash suffixes are not implemented; set generatorOptions.disableNameSuffixHash`);
    const pairs = [
      ...(generator.envs ?? []).flatMap((env) => readEnvFile(readFile(join(dir, env)))),
      ...(generator.literals ?? []).map((literal) => readEnvFile(literal)[0]!),
    ];
    objects.push({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: generator.name },
      type: generator.type ?? 'Opaque',
      data: Object.fromEntries(pairs.map(([key, value]) => [key, Buffer.from(value).toString('base64')])),
    });
  }

  for (const patch of kustomization.patches ?? []) {
    const [change] = readManifests(join(dir, patch.path));
    const index = objects.findIndex((o) => o.kind === patch.target.kind && o.metadata.name === patch.target.name);
    if (index < 0 || !change)
      throw new Error(`${file}: patch ${patch.path} targets ${patch.target.kind}/${patch.target.name}, which does not exist`);
    objects[index] = strategicMerge(objects[index], change) as Manifest;
  }

  for (const image of kustomization.images ?? []) {
    let used = false;
    objects = objects.map((object) => {
      const copy = structuredClone(object);
      for (const pod of podSpecsOf(copy))
        for (const container of [...((pod.containers as any[]) ?? []), ...((pod.initContainers as any[]) ?? [])]) {
          const [name, tag] = String(container.image).split(':');
          if (name !== image.name) continue;
          used = true;
          container.image = `${image.newName ?? name}${(image.newTag ?? tag) ? `:${image.newTag ?? tag}` : ''}`;
        }
      return copy;
    });
    if (!used) throw new Error(`${file}: image "${image.name}" is used by no container`);
  }

  if (kustomization.namespace)
    for (const object of objects)
      if (!CLUSTER_SCOPED.has(object.kind)) object.metadata = { ...object.metadata, namespace: kustomization.namespace };
  return objects;
}
