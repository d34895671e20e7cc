/**
 * `healthcheck`: asks a running backend for /health (or /ready) and exits 0 or 1. Docker's
 * HEALTHCHECK uses it: it reads PORT and the Basic auth credentials from the same environment as
 * the server, so the check still passes when BASIC_AUTH_USER is set.
 */
import { Command } from 'commander';
import { SERVER_SETTINGS } from '../config/server-settings.js';
import { readSettings } from '../config/settings.js';
import { CliError, intArg } from './support.js';

interface HealthFlags {
  url?: string;
  ready?: boolean;
  timeout: number;
}

export function healthcheckCommand(): Command {
  return new Command('healthcheck')
    .description('exit 0 when the backend at --url answers /health (or /ready) with 200; for Docker HEALTHCHECK')
    .option('--url <url>', 'backend base URL (default http://127.0.0.1:$PORT, PORT default 9090)')
    .option('--ready', 'check readiness (/ready: the model is loaded) instead of liveness (/health)')
    .option('--timeout <ms>', 'request timeout', intArg(1, 600_000), 5000)
    .action(async (flags: HealthFlags) => {
      const { port, basicAuthUser: user, basicAuthPass: pass } = readSettings(
        { port: SERVER_SETTINGS.port, basicAuthUser: SERVER_SETTINGS.basicAuthUser, basicAuthPass: SERVER_SETTINGS.basicAuthPass },
      );
      const base = (flags.url ?? `http://127.0.0.1:${port}`).replace(/\/+$/, '');
      const url = `${base}${flags.ready ? '/ready' : '/health'}`;
      const headers: Record<string, string> = user && pass ? { authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` } : {};
      let response: Response;
      try {
        response = await fetch(url, { headers, signal: AbortSignal.timeout(flags.timeout) });
      } catch (error) {
        const cause = (error as { cause?: { code?: string } }).cause?.code;
        throw new CliError(`${url}: ${cause ?? (error as Error).message}`);
      }
      if (response.status !== 200) throw new CliError(`${url}: HTTP ${response.status}`);
      console.log(`${url}: ok`);
    });
}
