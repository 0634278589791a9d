import { parseArgs } from 'node:util';

/** A flag of a command: a value (`--patients 1000`) or a switch (`--check`). */
type Flag = { type: 'string' } | { type: 'boolean'; short?: string };
type Values<F extends Record<string, Flag>> = { [K in keyof F]?: F[K]['type'] extends 'boolean' ? boolean : string };

export interface CommandLine<F extends Record<string, Flag>> {
  values: Values<F>;
  /** Ends the command with one line on stderr naming it and pointing at --help, exit code 2 (a usage error). */
  fail(message: string): never;
}

/**
 * Reads a command's flags as every HealthGraph command does: `--help` (or `-h`) prints the usage
 * and exits 0; an unknown flag, a missing value or a positional argument ends it with one line
 * (`seed: ... (see --help)`) and exit code 2, never a stack trace.
 */
export function commandLine<F extends Record<string, Flag>>(
  command: string,
  usage: string,
  flags: F,
  args: string[] = process.argv.slice(2),
): CommandLine<F> {
  const fail = (message: string): never => {
    console.error(`${command}: ${message} (see --help)`);
    process.exit(2);
  };
  let values: Record<string, string | boolean | undefined> = {};
  try {
    ({ values } = parseArgs({ args, options: { ...flags, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }));
  } catch (error) {
    fail((error as Error).message.split('\n')[0]!);
  }
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  return { values: values as Values<F>, fail };
}
