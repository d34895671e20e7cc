/**
 * A real redis-server for the distributed-mode tests: one per describe block, on a free loopback
 * port with a temporary directory (never the system service), stopped afterwards. Each use gets
 * its own key prefix, so tests in one block never see each other's state.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { startRedisServer, type RedisServer } from '../../scripts/lib/redis-server.js';
import type { RedisTarget } from '../../src/store/index.js';

export type { RedisServer } from '../../scripts/lib/redis-server.js';

/** Registers before/after hooks that run a redis-server for the enclosing describe block. */
export function useRedisServer(): { readonly server: RedisServer; target(): RedisTarget } {
  let server: RedisServer | undefined;
  before(async function () {
    this.timeout(20_000);
    server = await startRedisServer();
  });
  after(async () => {
    await server?.stop();
    if (server) fs.rmSync(server.dir, { recursive: true, force: true });
  });
  return {
    get server() {
      if (!server) throw new Error('redis-server is not running');
      return server;
    },
    target: () => ({ url: server!.url, prefix: `t${randomUUID().slice(0, 8)}` }),
  };
}
