/**
 * `npm run docs:config`: rewrites the README's configuration tables from the settings
 * declarations in src/config (the one place settings are declared). A test fails when they differ.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { replaceConfigDocs } from '../src/config/index.js';

const README = fileURLToPath(new URL('../README.md', import.meta.url));
const before = fs.readFileSync(README, 'utf8');
const after = replaceConfigDocs(before);
fs.writeFileSync(README, after);
console.log(before === after ? 'README configuration tables already up to date' : 'README configuration tables rewritten from src/config');
