export { mintDevToken } from '@healthgraph/gateway/dev-token';
export * from './config.js';
export * from './stack.js';
