/**
 * Structured JSON logs (pino), pretty on a terminal. Secrets never reach a log line:
 * Authorization headers, tokens and passwords are redacted wherever they appear.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-webhook-token"]',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  'access_token',
  '*.access_token',
  'token',
  '*.token',
  'apiKey',
  '*.apiKey',
  'password',
  '*.password',
  'params.password',
  '*.params.password',
  // Config and env-shaped objects (BackendConfig field names and the variables they come from).
  ...['labelStudioApiKey', 'basicAuthPass', 'webhookToken', 'api_key', 'LABEL_STUDIO_API_KEY', 'LABEL_STUDIO_ACCESS_TOKEN', 'BASIC_AUTH_PASS', 'WEBHOOK_TOKEN', 'redisUrl', 'REDIS_URL'].flatMap((key) => [key, `*.${key}`]),
];

export interface LoggerOptions {
  level: string;
  /** Pretty output; defaults to "stdout is a terminal and not CI". */
  pretty?: boolean;
  /** Destination stream (tests capture logs here). */
  destination?: NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const pretty = options.pretty ?? (Boolean(process.stdout.isTTY) && !process.env.CI);
  const base = {
    level: options.level,
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    base: { pid: process.pid },
  };
  if (options.destination) return pino(base, options.destination as pino.DestinationStream);
  if (pretty) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } } });
  }
  return pino(base);
}
