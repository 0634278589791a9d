// Bundles the development explorer (GraphiQL, its Monaco workers and styles) into dist/explorer,
// so the gateway serves it from its own files: no CDN, and it works offline.
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { build } from 'esbuild';

const require = createRequire(import.meta.url);
const outdir = 'dist/explorer';
rmSync(outdir, { recursive: true, force: true });

const common = {
  bundle: true,
  minify: true,
  legalComments: 'linked',
  target: ['chrome120', 'firefox120', 'safari17'],
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
};

await build({
  ...common,
  entryPoints: { explorer: 'explorer/main.tsx' },
  outdir,
  format: 'esm',
  jsx: 'automatic',
  loader: { '.ttf': 'file', '.woff': 'file', '.woff2': 'file', '.svg': 'file' },
  assetNames: '[name]-[hash]',
});

// Monaco's language services run as web workers: one classic script each.
await build({
  ...common,
  entryPoints: {
    'editor.worker': require.resolve('monaco-editor/esm/vs/editor/editor.worker.js'),
    'json.worker': require.resolve('monaco-editor/esm/vs/language/json/json.worker.js'),
    'graphql.worker': require.resolve('monaco-graphql/esm/graphql.worker.js'),
  },
  outdir,
  format: 'iife',
});
