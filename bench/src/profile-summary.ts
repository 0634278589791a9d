/**
 * `node bench/dist/profile-summary.js FILE.cpuprofile... [--top N]`: the functions that spent the
 * most CPU themselves (self time) in each V8 CPU profile (as `npm run bench -- --profile DIR`
 * writes them), and the same time summed per package, so a profile can be read without a browser.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Where a script belongs: its npm package, a workspace package of this repository, or Node itself. */
export function packageOf(url: string): string {
  if (!url) return '(native / V8)';
  if (url.startsWith('node:')) return 'node';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const workspace = /\/(gateway|platform|prisma|stack|bench|subgraphs\/[a-z]+)\/(?:dist|src)\//.exec(url);
  return workspace ? `healthgraph ${workspace[1]}` : url;
}

export interface SelfTime {
  name: string;
  ms: number;
  share: number;
}

/** Self time per function and per package, in milliseconds and as a share of the sampled time. */
export function summariseProfile(profile: Profile): { totalMs: number; functions: SelfTime[]; packages: SelfTime[] } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  const functions = new Map<string, number>();
  const packages = new Map<string, number>();
  let totalMs = 0;
  for (const [id, ms] of self) {
    const { callFrame } = byId.get(id)!;
    if (callFrame.functionName === '(idle)') continue;
    totalMs += ms;
    const where = callFrame.url ? `${basename(callFrame.url)}:${callFrame.lineNumber + 1}` : '';
    const name = `${callFrame.functionName || '(anonymous)'} ${where} [${packageOf(callFrame.url)}]`;
    functions.set(name, (functions.get(name) ?? 0) + ms);
    const pkg = ['(garbage collector)', '(program)'].includes(callFrame.functionName) ? callFrame.functionName : packageOf(callFrame.url);
    packages.set(pkg, (packages.get(pkg) ?? 0) + ms);
  }
  const ranked = (map: Map<string, number>) =>
    [...map].map(([name, ms]) => ({ name, ms, share: ms / totalMs })).sort((a, b) => b.ms - a.ms);
  return { totalMs, functions: ranked(functions), packages: ranked(packages) };
}

if (process.argv[1] && import.meta.url.endsWith(basename(process.argv[1]))) {
  const { values, positionals } = parseArgs({ options: { top: { type: 'string', default: '25' } }, allowPositionals: true });
  const top = Number(values.top);
  for (const file of positionals) {
    const { totalMs, functions, packages } = summariseProfile(JSON.parse(readFileSync(file, 'utf8')) as Profile);
    const line = (t: SelfTime) => `${(100 * t.share).toFixed(1).padStart(5)}% ${t.ms.toFixed(0).padStart(7)} ms  ${t.name}`;
    process.stdout.write(`\n== ${basename(file)}: ${totalMs.toFixed(0)} ms busy\n-- by package\n`);
    process.stdout.write(`${packages.slice(0, 15).map(line).join('\n')}\n-- by function (self time)\n`);
    process.stdout.write(`${functions.slice(0, top).map(line).join('\n')}\n`);
  }
}
