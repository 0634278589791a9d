import { createClient, type RedisClientType } from '@keyv/redis';
import { withTimeout } from './timeout.js';

export type { RedisClientType };

/**
 * A Redis client that never makes a request wait for Redis: without an offline queue a command
 * fails at once while Redis is away (instead of waiting for it to return), connecting is
 * time-boxed, and the client reconnects by itself with back-off. Errors are the caller's to count;
 * they are never thrown at the process.
 */
export function createRedisClient(url: string): RedisClientType {
  const reconnectStrategy = (retries: number) => Math.min(100 * 2 ** retries, 2_000);
  const client = createClient({ url, disableOfflineQueue: true, socket: { connectTimeout: 1_000, reconnectStrategy } }) as RedisClientType;
  client.on('error', () => {});
  return client;
}

/** Connects, or gives up after `ms` (the client goes on reconnecting by itself); never rejects. */
export async function connectRedis(client: RedisClientType, ms = 1_500): Promise<boolean> {
  try {
    await withTimeout(client.connect(), ms, 'Redis');
    return true;
  } catch {
    return false;
  }
}

/** Closes politely when Redis answers, at once when it does not. */
export async function closeRedis(client: RedisClientType | undefined): Promise<void> {
  if (!client?.isOpen) return;
  await withTimeout(client.close(), 500, 'Redis').catch(() => client.destroy());
}
