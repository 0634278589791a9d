/**
 * Monaco runs its language services in web workers. They are bundled beside the page and loaded
 * from the gateway itself: nothing is fetched from a CDN, so the explorer works offline.
 */
import { readConfig } from './config.js';

const { assets } = readConfig();
const WORKERS: Record<string, string> = { json: 'json.worker.js', graphql: 'graphql.worker.js' };

(globalThis as { MonacoEnvironment?: unknown }).MonacoEnvironment = {
  getWorker(_workerId: string, label: string) {
    return new Worker(`${assets}${WORKERS[label] ?? 'editor.worker.js'}`, { name: label });
  },
};
