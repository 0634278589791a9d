import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A real HTTP hop in front of a subgraph that a test can close and open, like a subgraph that has
 * stopped answering for a while: closed, requests wait (or are never answered); open, they are
 * forwarded as they are, one after another in arrival order. Records who arrived, by the client's
 * own x-request-id (the correlation id the gateway carries in the subgraph token), so a test can
 * see the order in which the gateway let requests through.
 */
export interface Gate {
  url: string;
  /** Request ids in the order they reached the subgraph. */
  arrived: string[];
  /** Requests waiting at the closed gate. */
  waiting(): number;
  close(): void;
  open(): void;
  /** From now on, accept requests and never answer them (a hung subgraph); `false` answers again. */
  hang(on?: boolean): void;
  stop(): Promise<void>;
}

/** The correlation id in the gateway's subgraph token (read, not verified: the subgraph verifies it). */
function correlationIdOf(req: IncomingMessage): string {
  const payload = req.headers.authorization?.split('.')[1];
  if (!payload) return 'none';
  return String((JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { cid?: string }).cid ?? 'none');
}

export async function startGate(target: string): Promise<Gate> {
  let closed = false;
  let hung = false;
  const parked: (() => void)[] = [];
  const arrived: string[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (hung) {
        arrived.push(correlationIdOf(req));
        return; // the socket stays open and nothing comes back
      }
      const forward = async () => {
        arrived.push(correlationIdOf(req));
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(req.headers)) {
          if (typeof value === 'string' && name !== 'host' && name !== 'content-length' && name !== 'connection') headers[name] = value;
        }
        try {
          const response = await fetch(target, { method: req.method, headers, body: Buffer.concat(chunks) });
          res.writeHead(response.status, { 'content-type': response.headers.get('content-type') ?? 'application/json' });
          res.end(Buffer.from(await response.arrayBuffer()));
        } catch {
          res.destroy();
        }
      };
      if (closed) parked.push(() => void forward());
      else void forward();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    arrived,
    waiting: () => parked.length,
    close: () => {
      closed = true;
    },
    open: () => {
      closed = false;
      for (const go of parked.splice(0)) go();
    },
    hang: (on = true) => {
      hung = on;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Polls `check` until it holds (or fails after `ms`). */
export async function until(check: () => boolean, ms = 10_000, what = 'the condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} did not hold within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
