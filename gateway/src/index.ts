export * from './auth.js';
export * from './compose.js';
export * from './dev-token.js';
export * from './server.js';
export * from './stack.js';
export * from './field-authorization.js';
export * from './operation-limits.js';
export * from './cost.js';
