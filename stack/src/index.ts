export * from './config.js';
export { mintDevToken } from '@healthgraph/gateway/dev-token';
export * from './stack.js';
