/**
 * OpenTelemetry tracing, off unless configured. When on, every gateway request and every subgraph
 * request is a span, and the W3C trace context travels from the gateway to the subgraphs, so one
 * trace shows a whole operation. Spans carry service names, operation kinds and statuses: never a
 * patient's, provider's or caller's id, a query text or variables.
 */
import type { IncomingMessage } from 'node:http';
import { type Context, context, propagation, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';

export const tracer = trace.getTracer('healthgraph');

export interface TracingOptions {
  serviceName: string;
  /** OTLP/HTTP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT); spans go to `${endpoint}/v1/traces`. */
  endpoint?: string;
  /** Where spans go instead (tests): exported one by one, as they end. */
  exporter?: SpanExporter;
}

/** Starts tracing for this process; returns the function that flushes and stops it. No-op without an endpoint or exporter. */
export function startTracing({ serviceName, endpoint, exporter }: TracingOptions): () => Promise<void> {
  if (!endpoint && !exporter) return async () => {};
  const processor = exporter
    ? new SimpleSpanProcessor(exporter)
    : new BatchSpanProcessor(new OTLPTraceExporter({ url: `${endpoint!.replace(/\/$/, '')}/v1/traces` }));
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [processor],
  });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  return async () => {
    await provider.shutdown();
    trace.disable();
    propagation.disable();
    context.disable();
  };
}

/** The trace context a request arrived with (W3C traceparent), or none. */
export const incomingContext = (req: IncomingMessage): Context => propagation.extract(ROOT_CONTEXT, req.headers);

/** Runs `handle` inside a server span for one HTTP request to `service`, child of the caller's span. */
export async function withServerSpan<T>(service: string, req: IncomingMessage, handle: (span: Span) => Promise<T>): Promise<T> {
  const parent = incomingContext(req);
  const span = tracer.startSpan(
    `${service} ${req.method ?? 'GET'}`,
    { kind: SpanKind.SERVER, attributes: { 'healthgraph.service': service, 'http.request.method': req.method ?? 'GET' } },
    parent,
  );
  try {
    return await context.with(trace.setSpan(parent, span), () => handle(span));
  } catch (error) {
    span.setStatus({ code: SpanStatusCode.ERROR });
    throw error;
  } finally {
    span.end();
  }
}

/** Adds the active trace context to outgoing headers (a subgraph call). */
export function injectTraceContext(set: (name: string, value: string) => void): void {
  propagation.inject(context.active(), {}, { set: (_carrier, name, value) => set(name, value) });
}
