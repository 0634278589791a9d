import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger };

import { LOG_LEVELS, type LogLevel } from './config.js';

/**
 * Structured JSON logs, one line per event. What may appear is decided here: request ids, service,
 * trusted operation names, roles, codes, durations and counts. Never a caller's or patient's id,
 * query text, variables or response data (HIPAA 164.312(b) audit belongs in the audit trail, not
 * in logs, which are copied to places PHI must not go).
 */
export function createLogger(level: string = defaultLevel(), destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'healthgraph' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Belt and braces for anything that slips into a log call.
      redact: {
        paths: ['authorization', 'req.headers.authorization', 'headers.authorization', 'variables', 'query', 'token'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

/**
 * The level before the configuration is read: LOG_LEVEL when it is a level pino knows (the
 * configuration refuses anything else with one clear line), else the environment's default.
 */
function defaultLevel(): LogLevel {
  const requested = process.env.LOG_LEVEL;
  if ((LOG_LEVELS as readonly string[]).includes(requested ?? '')) return requested as LogLevel;
  return process.env.NODE_ENV === 'test' ? 'silent' : 'info';
}

/** The process's logger (the process runner sets its level from the configuration); tests and embedders may pass their own to the servers instead. */
export const logger = createLogger();
