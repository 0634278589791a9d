import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addVary, type ContentCoding, compress, negotiateCoding } from '@healthgraph/platform';

/** Where the build puts the bundled explorer (scripts/build-explorer.mjs). */
export const EXPLORER_ASSETS_DIR = fileURLToPath(new URL('../dist/explorer/', import.meta.url));
/** The URL path the assets are served under. */
export const EXPLORER_ASSETS_PATH = '/explorer/';

export interface ExplorerOptions {
  /** The GraphQL path the page queries (and is served at). */
  endpoint: string;
  /** The API schema as SDL, once the supergraph is loaded. */
  schema: () => string | undefined;
  /** The trusted operations to list. */
  operations: () => Iterable<{ name: string; type: string; body: string }>;
  /** The command that prints a development token, for the header editor's hint. */
  tokenCommand: string;
  assetsDir?: string;
}

export interface Explorer {
  /** Serves the page (the HTTP layer calls it for a browser's GET of the GraphQL path). */
  page(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** One GET route per bundled file. */
  routes: Record<string, (req: IncomingMessage, res: ServerResponse) => Promise<void>>;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Everything the page loads comes from the gateway: no CDN, no fonts from elsewhere, and the
 * browser refuses any attempt (a test loads it with the network closed). Monaco sets inline styles.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "font-src 'self' data:",
  "img-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** JSON safe inside a <script> data block: no `</script>`, no HTML comment openers. */
const scriptJson = (value: unknown) =>
  JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');

/** A Host header fit to put in a link: a host name or address and an optional port, nothing else. */
const HOST = /^([a-z0-9.-]+|\[[0-9a-f:.]+\])(:\d{1,5})?$/i;

/**
 * The development explorer: GraphiQL bundled at build time, with the API schema, the trusted
 * operations and a token hint written into the page, and a link to Apollo Sandbox for when the
 * machine is online. Returns undefined when the bundle was not built.
 */
export function createExplorer({
  endpoint,
  schema,
  operations,
  tokenCommand,
  assetsDir = EXPLORER_ASSETS_DIR,
}: ExplorerOptions): Explorer | undefined {
  if (!existsSync(join(assetsDir, 'explorer.js'))) return undefined;
  const headers = [
    '{',
    '  // A development token, printed by this command in the repository:',
    `  //   ${tokenCommand}`,
    '  "authorization": "Bearer PASTE-THE-TOKEN-HERE"',
    '}',
  ].join('\n');

  const routes: Explorer['routes'] = {};
  for (const file of readdirSync(assetsDir)) {
    const type = TYPES[extname(file)];
    if (!type) continue;
    const asset = cachedAsset(readFileSync(join(assetsDir, file)));
    routes[`${EXPLORER_ASSETS_PATH}${file}`] = async (req, res) => {
      res.setHeader('content-type', type);
      res.setHeader('cache-control', 'no-cache'); // development: always revalidate, so a rebuild shows at once
      res.setHeader('etag', asset.etag);
      addVary(res, 'Accept-Encoding');
      if (req.headers['if-none-match'] === asset.etag) {
        res.writeHead(304);
        res.end();
        return;
      }
      const coding = negotiateCoding(req.headers['accept-encoding']);
      const body = coding ? await asset.encoded(coding) : asset.raw;
      if (coding) res.setHeader('content-encoding', coding);
      res.setHeader('content-length', body.length);
      res.end(req.method === 'HEAD' ? undefined : body);
    };
  }

  return {
    routes,
    async page(req, res) {
      const sdl = schema();
      if (sdl === undefined) {
        res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '1', 'cache-control': 'no-store' });
        res.end('The gateway is still loading its supergraph; reload in a moment.\n');
        return;
      }
      const host = req.headers.host && HOST.test(req.headers.host) ? req.headers.host : 'localhost:4000';
      const config = {
        endpoint,
        schema: sdl,
        headers,
        operations: [...operations()].map(({ name, type, body }) => ({ name, type, body })).sort((a, b) => a.name.localeCompare(b.name)),
        sandboxUrl: `https://studio.apollographql.com/sandbox/explorer?endpoint=${encodeURIComponent(`http://${host}${endpoint}`)}`,
        assets: EXPLORER_ASSETS_PATH,
      };
      const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>HealthGraph explorer</title>
<link rel="stylesheet" href="${EXPLORER_ASSETS_PATH}explorer.css">
<script id="explorer-config" type="application/json">${scriptJson(config)}</script>
<script type="module" src="${EXPLORER_ASSETS_PATH}explorer.js"></script>
</head>
<body><div id="explorer"></div></body>
</html>
`;
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        'content-security-policy': CONTENT_SECURITY_POLICY,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
      });
      res.end(req.method === 'HEAD' ? undefined : html);
    },
  };
}

/** A file with its ETag and its compressed forms, each made once on first request. */
function cachedAsset(raw: Buffer) {
  const etag = `W/"${createHash('sha256').update(raw).digest('base64url').slice(0, 22)}"`;
  const encoded = new Map<ContentCoding, Promise<Buffer>>();
  return {
    raw,
    etag,
    encoded(coding: ContentCoding): Promise<Buffer> {
      let body = encoded.get(coding);
      if (!body) {
        body = compress(raw, coding);
        encoded.set(coding, body);
      }
      return body;
    },
  };
}
