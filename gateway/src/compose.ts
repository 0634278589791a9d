import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';

/** The subgraphs, in the order their SDL files are composed. */
export const SUBGRAPHS = ['patients', 'providers', 'appointments', 'records'] as const;
export type SubgraphName = (typeof SUBGRAPHS)[number];

export const SCHEMA_DIR = fileURLToPath(new URL('../../schema/', import.meta.url));
export const SUPERGRAPH_PATH = `${SCHEMA_DIR}supergraph.graphql`;

/** Default routing URLs written into the supergraph; a running gateway routes by its configuration. */
const DEFAULT_URLS: Record<SubgraphName, string> = {
  patients: 'http://127.0.0.1:4001/graphql',
  providers: 'http://127.0.0.1:4002/graphql',
  appointments: 'http://127.0.0.1:4003/graphql',
  records: 'http://127.0.0.1:4004/graphql',
};

/** Composes schema/<subgraph>.graphql into a Federation 2 supergraph SDL, or throws the composition errors. */
export function composeSupergraph(): string {
  const result = composeServices(
    SUBGRAPHS.map((name) => ({ name, url: DEFAULT_URLS[name], typeDefs: parse(readFileSync(`${SCHEMA_DIR}${name}.graphql`, 'utf8')) })),
  );
  if (result.errors) throw new Error(`Composition failed:\n${result.errors.map((e) => `- ${e.message}`).join('\n')}`);
  return `${result.supergraphSdl.trimEnd()}\n`;
}

/** The committed supergraph the gateway serves. */
export function readSupergraph(): string {
  return readFileSync(SUPERGRAPH_PATH, 'utf8');
}
