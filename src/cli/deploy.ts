/**
 * `deploy gcp <dir>`: builds and deploys a backend project to Cloud Run with the gcloud CLI
 * (`gcloud run deploy <service> --source <dir> ...`). Cloud Run builds the directory's Dockerfile
 * and sets PORT itself. The command line is printed first, with secrets masked.
 */
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { CliError, keyValueArg } from './support.js';

interface GcpFlags {
  gcpProjectId: string;
  gcpRegion: string;
  service?: string;
  labelStudioUrl?: string;
  labelStudioApiKey?: string;
  basicAuthUser?: string;
  basicAuthPass?: string;
  env: string[];
  memory?: string;
  cpu?: string;
  allowUnauthenticated: boolean;
  dryRun?: boolean;
}

const SECRET_NAME = /KEY|TOKEN|PASS|SECRET/i;
const SERVICE_NAME = /^[a-z](?:[a-z0-9-]{0,47}[a-z0-9])?$/;

export function deployCommand(): Command {
  const root = new Command('deploy').description('deploy a backend project to a cloud');
  root.addCommand(
    new Command('gcp')
      .description('deploy <dir> to Google Cloud Run through `gcloud run deploy --source`')
      .argument('<dir>', 'backend project directory (with a Dockerfile), e.g. one made by `init`')
      .requiredOption('--gcp-project-id <id>', 'Google Cloud project')
      .requiredOption('--gcp-region <region>', 'Cloud Run region, e.g. europe-west1')
      .option('--service <name>', 'Cloud Run service name (default: the directory name)')
      .option('--label-studio-url <url>', 'LABEL_STUDIO_URL for the service (task files, annotation export)')
      .option('--label-studio-api-key <key>', 'LABEL_STUDIO_API_KEY for the service')
      .option('--basic-auth-user <user>', 'BASIC_AUTH_USER for the service')
      .option('--basic-auth-pass <pass>', 'BASIC_AUTH_PASS for the service')
      .option('--env <KEY=VALUE>', 'another environment variable (repeatable)', keyValueArg, [])
      .option('--memory <size>', 'memory per instance, e.g. 2Gi')
      .option('--cpu <n>', 'CPUs per instance')
      .option('--no-allow-unauthenticated', 'require Google IAM auth (Label Studio cannot send it; use Basic auth instead)')
      .option('--dry-run', 'print the gcloud command without running it')
      .action(async (dir: string, flags: GcpFlags) => deployGcp(dir, flags)),
  );
  return root;
}

export function gcloudArgs(dir: string, flags: GcpFlags): { args: string[]; secrets: string[] } {
  const source = path.resolve(dir);
  const service = flags.service ?? serviceNameFrom(source);
  if (!SERVICE_NAME.test(service)) {
    throw new CliError(`invalid Cloud Run service name ${JSON.stringify(service)}: lowercase letters, digits and hyphens, starting with a letter (pass --service)`);
  }
  const env = [
    ...(flags.labelStudioUrl !== undefined ? [`LABEL_STUDIO_URL=${flags.labelStudioUrl}`] : []),
    ...(flags.labelStudioApiKey !== undefined ? [`LABEL_STUDIO_API_KEY=${flags.labelStudioApiKey}`] : []),
    ...(flags.basicAuthUser !== undefined ? [`BASIC_AUTH_USER=${flags.basicAuthUser}`] : []),
    ...(flags.basicAuthPass !== undefined ? [`BASIC_AUTH_PASS=${flags.basicAuthPass}`] : []),
    ...flags.env,
  ];
  if (env.some((pair) => pair.startsWith('PORT='))) throw new CliError('PORT is set by Cloud Run itself: do not pass it');
  const secrets = env.map((pair) => pair.split('=', 1)[0] ?? '').flatMap((name, i) => (SECRET_NAME.test(name) ? [(env[i] ?? '').slice(name.length + 1)] : []));
  const args = [
    'run', 'deploy', service,
    '--source', source,
    '--project', flags.gcpProjectId,
    '--region', flags.gcpRegion,
    ...(env.length > 0 ? ['--set-env-vars', envVarsArg(env)] : []),
    ...(flags.memory !== undefined ? ['--memory', flags.memory] : []),
    ...(flags.cpu !== undefined ? ['--cpu', flags.cpu] : []),
    flags.allowUnauthenticated ? '--allow-unauthenticated' : '--no-allow-unauthenticated',
    '--quiet',
  ];
  return { args, secrets: secrets.filter((secret) => secret !== '') };
}

/** gcloud splits on commas; values holding one need its `^DELIM^` escape (gcloud topic escaping). */
function envVarsArg(pairs: string[]): string {
  if (!pairs.some((pair) => pair.includes(','))) return pairs.join(',');
  const delimiter = ['@', '#', '|', ';', '~'].find((d) => !pairs.some((pair) => pair.includes(d)));
  if (delimiter === undefined) throw new CliError('environment values contain every delimiter gcloud could use (, @ # | ; ~)');
  return `^${delimiter}^${pairs.join(delimiter)}`;
}

function serviceNameFrom(dir: string): string {
  return path.basename(dir).toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^[^a-z]+/, '').replace(/-+$/, '').slice(0, 49).replace(/-+$/, '');
}

/** The command as a shell line, secret values (API keys, passwords, tokens) replaced by ****. */
export function displayCommand(args: string[], secrets: string[]): string {
  const masked = args.map((arg) => secrets.reduce((text, secret) => text.split(secret).join('****'), arg));
  return ['gcloud', ...masked].map((arg) => (/^[\w@%+=:,./^-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`)).join(' ');
}

async function deployGcp(dir: string, flags: GcpFlags): Promise<void> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new CliError(`not a directory: ${dir}`);
  if (!existsSync(path.join(dir, 'Dockerfile'))) {
    console.error(`warning: ${path.join(dir, 'Dockerfile')} is missing: Cloud Run will try buildpacks (\`init\` writes a Dockerfile)`);
  }
  const { args, secrets } = gcloudArgs(dir, flags);
  console.log(`$ ${displayCommand(args, secrets)}`);
  if (flags.dryRun) return;
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn('gcloud', args, { stdio: 'inherit' });
    child.on('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'ENOENT' ? new CliError('gcloud not found on PATH: install the Google Cloud CLI (https://cloud.google.com/sdk/docs/install)') : error),
    );
    child.on('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 128 : 1)));
  });
  if (code !== 0) throw new CliError(`gcloud run deploy exited with code ${code}`, code);
}
