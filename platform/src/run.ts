import { ConfigError } from './config.js';
import { logger } from './logger.js';
import { startDefaultMetrics } from './metrics.js';

/** A running service: what the process runner stops on a signal. */
export interface Service {
  /** Stops taking requests, lets those in flight finish, writes what is left (audit), closes connections. */
  close(): Promise<void>;
}

/**
 * Runs a service as this process: starts it, exports Node's runtime metrics, and owns the
 * termination signals. On SIGTERM (orchestrators) or SIGINT (Ctrl-C) it closes the service, which
 * drains requests and flushes the audit trail, then exits 0; no library re-raises a signal here (Apollo
 * Server's own handling is off everywhere). A configuration error is one line and exit 1; a crash
 * during start-up is logged and exit 1.
 */
export async function runProcess(start: () => Promise<Service>): Promise<void> {
  let service: Service | undefined;
  let stopping: NodeJS.Signals | undefined;
  const close = (running: Service, signal: NodeJS.Signals) => {
    logger.info({ signal }, 'stopping');
    running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ reason: (error as Error)?.message }, 'shutdown did not complete cleanly');
        process.exit(1);
      },
    );
  };
  // Owned from the first moment: a signal while the service starts (replaying its audit journal,
  // say) is taken once it has started, never left to Node's default, which would exit at once.
  const stop = (signal: NodeJS.Signals) => {
    // A second signal while still starting (Ctrl-C twice during a long first seed) means now.
    if (stopping && !service) process.exit(130);
    if (stopping) return;
    stopping = signal;
    if (service) close(service, signal);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  try {
    service = await start();
  } catch (error) {
    if (error instanceof ConfigError) console.error(`Configuration error: ${error.message}`);
    else console.error(error);
    process.exit(1);
  }
  startDefaultMetrics();
  if (stopping) close(service, stopping);
}
