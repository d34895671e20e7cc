/**
 * The text encoders' settings (declared once, in src/config: TEXT_CLASSIFIER_SETTINGS), with the
 * USE catalogue file read. Invalid values fail at start with the variable and the value.
 */
import fs from 'node:fs';
import { ConfigError } from '../errors.js';
import { ENCODER_CHOICES, type EncoderChoice } from '../config/choices.js';
import { defaultEmbedWorkers, TEXT_CLASSIFIER_SETTINGS } from '../config/model-settings.js';
import { readSettings, type Env, type SettingsOf } from '../config/settings.js';
import type { UseCatalog } from './use-files.js';

export { ENCODER_CHOICES, defaultEmbedWorkers, type EncoderChoice };

export type EncoderSettings = Omit<SettingsOf<typeof TEXT_CLASSIFIER_SETTINGS>, 'useCatalog'> & {
  /** USE_CATALOG, read: the catalogue to verify USE files against instead of the pinned one. */
  useCatalog: UseCatalog | undefined;
};

export function encoderSettingsFromEnv(env: Env = process.env): EncoderSettings {
  const { useCatalog: catalogFile, ...settings } = readSettings(TEXT_CLASSIFIER_SETTINGS, env);
  let useCatalog: UseCatalog | undefined;
  if (catalogFile) {
    try {
      useCatalog = JSON.parse(fs.readFileSync(catalogFile, 'utf8')) as UseCatalog;
    } catch (error) {
      throw new ConfigError(`USE_CATALOG=${JSON.stringify(catalogFile)} is not a readable JSON catalogue: ${(error as Error).message}`);
    }
  }
  return { ...settings, useCatalog };
}
