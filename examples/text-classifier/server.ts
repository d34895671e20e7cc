/**
 * `npm run example:text-classifier`: serves the text classifier on PORT (9090). Training runs in
 * a worker thread that loads this same model module.
 */
import { fileURLToPath } from 'node:url';
import { startServer } from '../../src/index.js';

await startServer({ module: { module: fileURLToPath(new URL('./model.ts', import.meta.url)) } });
