/** The real server as a child process: for SIGKILL and SIGTERM tests. */
import { fileURLToPath } from 'node:url';

export { freePort, spawnServer, type ChildServer } from '../../scripts/lib/spawn-server.js';

export const SERVE_TOY = fileURLToPath(new URL('../fixtures/serve-toy.ts', import.meta.url));
