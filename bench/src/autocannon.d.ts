/** The part of autocannon's programmatic API the load process uses (the package ships no types). */
declare module 'autocannon' {
  interface Request {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string;
    setupRequest?: (request: Record<string, unknown>, context: never) => Record<string, unknown> | null;
    onResponse?: (status: number, body: string, context: never, headers: Record<string, string>) => void;
  }
  interface Options {
    url: string;
    connections: number;
    pipelining?: number;
    duration: number;
    timeout?: number;
    requests: Request[];
  }
  interface Histogram {
    average: number;
    p50: number;
    p99: number;
  }
  interface Result {
    requests: Histogram;
    latency: Histogram;
    non2xx: number;
    timeouts: number;
    errors: number;
  }
  function autocannon(options: Options): Promise<Result>;
  export default autocannon;
}
