/** Configuration: one declaration per setting (settings.ts), for the server and the bundled models. */
export * from './choices.js';
export * from './settings.js';
export * from './server-settings.js';
export * from './model-settings.js';
export { renderConfigDocs, replaceConfigDocs } from './docs.js';
