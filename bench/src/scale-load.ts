/**
 * The scale scenario's load generator: `node scale-load.js SPEC.json` sends one operation, with
 * variables and callers drawn from the spec's list, through autocannon for the spec's duration, in
 * its own process, and prints one JSON result on stdout. Latency is taken from the moment
 * autocannon builds a request to the moment it hands back the parsed response.
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { answerCode, type ScaleLoadResult, type ScaleLoadSpec } from './scale-report.js';

interface Context {
  sentAt?: number;
}

const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as ScaleLoadSpec;
const latencies: number[] = [];
const errors: Record<string, number> = {};
let next = 0;

const started = performance.now();
const result = await autocannon({
  url: spec.url,
  connections: spec.connections,
  pipelining: 1,
  duration: spec.seconds,
  timeout: 10,
  requests: [
    {
      method: 'POST',
      setupRequest(request: Record<string, unknown>, context: Context) {
        // Walk the list in a fixed stride, so every connection sees every caller and variable set.
        const planned = spec.requests[next++ % spec.requests.length]!;
        context.sentAt = performance.now();
        return {
          ...request,
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${planned.token}` },
          body: planned.body,
        };
      },
      onResponse(status: number, body: string, context: Context) {
        latencies.push(Math.round((performance.now() - context.sentAt!) * 100) / 100);
        const code = answerCode(status, body, spec.root);
        if (code !== undefined) errors[code] = (errors[code] ?? 0) + 1;
      },
    },
  ],
});
const output: ScaleLoadResult = {
  seconds: (performance.now() - started) / 1000,
  latencies,
  errors,
  timeouts: result.timeouts,
};
process.stdout.write(JSON.stringify(output));
process.exit(0);
