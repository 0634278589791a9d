/** What the gateway tells the explorer page (see src/explorer.ts, which writes it into the page). */
export interface ExplorerConfig {
  /** Where GraphQL is served, relative to the page's origin. */
  endpoint: string;
  /** The gateway's API schema as SDL: the page needs no token to offer completion and docs. */
  schema: string;
  /** The header editor's first contents: a hint for getting a development token. */
  headers: string;
  /** The portals' trusted operations, by name. */
  operations: { name: string; type: string; body: string }[];
  /** Apollo Sandbox on this endpoint, for when the machine is online. */
  sandboxUrl: string;
  /** Where the page's scripts and styles are served. */
  assets: string;
}

/** Reads the configuration the gateway wrote into the page as a JSON data block. */
export function readConfig(): ExplorerConfig {
  const element = document.getElementById('explorer-config');
  if (!element?.textContent) throw new Error('the explorer page carries no configuration');
  return JSON.parse(element.textContent) as ExplorerConfig;
}
