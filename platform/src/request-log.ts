import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { Logger } from 'pino';
import { metrics } from './metrics.js';

/** What the request log reads from a request's context (both the gateway's and a subgraph's have it). */
interface Logged extends BaseContext {
  requestId?: string;
  correlationId?: string | null;
  principal?: { role: string };
}

const holds = new WeakMap<object, Promise<unknown>[]>();

/**
 * Tells the request log that the response may still change until `until` settles (the audit
 * trail withholds PHI it could not record): the log line and metrics wait for the final answer.
 */
export function holdResponse(context: object, until: Promise<unknown>): void {
  const list = holds.get(context) ?? [];
  list.push(until);
  holds.set(context, list);
}

export interface RequestLogOptions<C = BaseContext> {
  /** The service's name in metric labels and log lines (`gateway`, `patients`...). */
  service: string;
  log: Logger;
  /** The log line's message. */
  message: string;
  /** The operation label: a trusted operation's name or `other`, never a client's free text. */
  operationLabel: (operationName: string | null) => string;
  /** Fields added to every line (e.g. `{ subgraph: name }`). */
  fields?: Record<string, unknown>;
  /** The request's priority class, where the service knows it (the gateway): a metric label and a log field. */
  priorityClass?: (context: C) => string | undefined;
}

/**
 * Duration and errors by code as metrics, and one JSON log line per request: request id, service,
 * operation label, kind, role, status, duration and error codes. Nothing else: no caller or
 * patient id, no query text or variables, no data. Used by the gateway and every subgraph.
 */
export function requestLogPlugin<C extends Logged>({
  service,
  log,
  message,
  operationLabel,
  fields = {},
  priorityClass,
}: RequestLogOptions<C>): ApolloServerPlugin<C> {
  return {
    async requestDidStart() {
      const started = performance.now();
      return {
        async willSendResponse({ response, operationName, operation, contextValue }) {
          const held = contextValue ? holds.get(contextValue) : undefined;
          if (held) await Promise.allSettled(held);
          const durationMs = performance.now() - started;
          const operationLabelValue = operationLabel(operationName ?? null);
          const kind = operation?.operation ?? 'unknown';
          const priority = contextValue && priorityClass ? priorityClass(contextValue) : undefined;
          metrics.requestDuration.observe(
            { service, operation: operationLabelValue, kind, ...(priority ? { class: priority } : {}) },
            durationMs / 1000,
          );
          const errors =
            response.body.kind === 'single'
              ? (response.body.singleResult.errors ?? []).map((e) => String(e.extensions?.code ?? 'UNKNOWN'))
              : [];
          for (const code of errors) metrics.errors.inc({ service, code });
          log.info(
            {
              ...fields,
              requestId: contextValue?.requestId,
              correlationId: contextValue?.correlationId ?? undefined,
              operation: operationLabelValue,
              kind,
              role: contextValue?.principal?.role,
              class: priority,
              status: response.http.status ?? 200,
              durationMs: Math.round(durationMs * 10) / 10,
              errors,
            },
            message,
          );
        },
      };
    },
  };
}
