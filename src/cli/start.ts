/** `start [entry]`: serves a model module; flags override the environment (PORT, MODEL_DIR, ...). */
import { Command, Option } from 'commander';
import type { BackendConfig } from '../config/index.js';
import { LOG_LEVELS, TFJS_BACKENDS, defaultEntry, existingEntry, intArg } from './support.js';

interface StartFlags {
  port?: number;
  host?: string;
  modelDir?: string;
  basicAuthUser?: string;
  basicAuthPass?: string;
  logLevel?: BackendConfig['logLevel'];
  export?: string;
  tfjsBackend?: BackendConfig['tfjsBackend'];
}

export function startCommand(): Command {
  return new Command('start')
    .description('serve a model module over HTTP (the Label Studio ML backend protocol)')
    .argument('[entry]', `module exporting a LabelStudioMLBase subclass (default: the bundled text classifier, ${defaultEntry()})`)
    .option('-p, --port <port>', 'port to listen on (env PORT, default 9090)', intArg(0, 65535))
    .option('--host <host>', 'interface to bind (env HOST, default 0.0.0.0)')
    .option('--model-dir <dir>', 'checkpoints, annotations and state (env MODEL_DIR, default ./checkpoints)')
    .option('--basic-auth-user <user>', 'require Basic auth (env BASIC_AUTH_USER; needs --basic-auth-pass)')
    .option('--basic-auth-pass <pass>', 'Basic auth password (env BASIC_AUTH_PASS)')
    .addOption(new Option('--log-level <level>', 'log level (env LOG_LEVEL, default info)').choices(LOG_LEVELS))
    .addOption(new Option('--tfjs-backend <backend>', 'TF.js backend (env TFJS_BACKEND, default auto)').choices(TFJS_BACKENDS))
    .option('--export <name>', 'named export holding the model class (default: the default export)')
    .action(async (entry: string | undefined, flags: StartFlags) => {
      const module = existingEntry(entry);
      const { startServer } = await import('../server/start.js');
      const overrides: Partial<BackendConfig> = {
        ...(flags.port !== undefined && { port: flags.port }),
        ...(flags.host !== undefined && { host: flags.host }),
        ...(flags.modelDir !== undefined && { modelDir: flags.modelDir }),
        ...(flags.basicAuthUser !== undefined && { basicAuthUser: flags.basicAuthUser }),
        ...(flags.basicAuthPass !== undefined && { basicAuthPass: flags.basicAuthPass }),
        ...(flags.logLevel !== undefined && { logLevel: flags.logLevel }),
        ...(flags.tfjsBackend !== undefined && { tfjsBackend: flags.tfjsBackend }),
      };
      await startServer({ module: { module, ...(flags.export !== undefined && { exportName: flags.export }) }, config: overrides });
      // Serve until SIGTERM/SIGINT: startServer's handlers shut down and exit the process.
      await new Promise<never>(() => undefined);
    });
}
