import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** Runs one of the built command-line entry points, with a clean environment plus `env`. */
function run(script: string, args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [script, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, PGLITE_DATA_DIR: 'memory://', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const COMMANDS = {
  start: 'stack/dist/start.js',
  token: 'stack/dist/token-cli.js',
  seed: 'prisma/dist/seed-cli.js',
  migrate: 'prisma/dist/migrate-cli.js',
  compose: 'gateway/dist/compose-cli.js',
  bench: 'bench/dist/bench.js',
} as const;

describe('the command-line tools', () => {
  it.each(Object.entries(COMMANDS))('%s answers --help with its usage and exit 0, touching nothing', (_name, script) => {
    const { status, stdout, stderr } = run(script, ['--help']);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(stdout).toMatch(/^usage: npm /);
    expect(stdout).toContain('--help');
  });

  it.each(Object.entries(COMMANDS))('%s refuses an unknown flag in one line with exit 2', (_name, script) => {
    const { status, stdout, stderr } = run(script, ['--no-such-flag']);
    expect(status).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain('--help');
  });

  it('refuses a bad setting in the environment in one line, with no stack trace', () => {
    for (const script of [COMMANDS.start, 'gateway/dist/index.js']) {
      const { status, stderr } = run(script, [], { LOG_LEVEL: 'verbose' });
      expect(status).toBe(1);
      expect(stderr.trim()).toBe(
        'Configuration error: LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"',
      );
    }
  });

  it('prints a token alone on stdout', () => {
    const { status, stdout } = run(COMMANDS.token, ['--role', 'clinician']);
    expect(status).toBe(0);
    expect(stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
  });
});
