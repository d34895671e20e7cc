/**
 * `doctor [--project ID] [--backend-url URL] [--json]`: checks the wiring between Label Studio
 * and this backend with the server's own settings (LABEL_STUDIO_URL, LABEL_STUDIO_API_KEY,
 * BASIC_AUTH_*, WEBHOOK_TOKEN, TASK_URL_ORIGINS): one line per check with a fix for each failure;
 * exit code 1 when any check fails.
 */
import { Command } from 'commander';
import { SERVER_SETTINGS } from '../config/server-settings.js';
import { readSettings } from '../config/settings.js';
import { CliError, intArg } from './support.js';

interface DoctorFlags {
  project?: string;
  backendUrl?: string;
  json?: boolean;
  timeout: number;
}

export function doctorCommand(): Command {
  return new Command('doctor')
    .description('check the Label Studio connection, key, project, task files, webhook, ML backend and auth; a fix for each problem')
    .option('--project <id>', 'Label Studio project to check (project, task file, webhook and ML backend checks)')
    .option('--backend-url <url>', "this backend's URL as Label Studio calls it (default: the project's ML backend in Label Studio)")
    .option('--json', 'print the checks as JSON: a list of {name, ok, detail, fix}')
    .option('--timeout <ms>', 'time allowed for each request', intArg(1, 600_000), 10_000)
    .action(async (flags: DoctorFlags) => {
      const { runDoctor } = await import('./doctor-checks.js');
      const settings = readSettings({
        labelStudioUrl: SERVER_SETTINGS.labelStudioUrl,
        labelStudioApiKey: SERVER_SETTINGS.labelStudioApiKey,
        basicAuthUser: SERVER_SETTINGS.basicAuthUser,
        basicAuthPass: SERVER_SETTINGS.basicAuthPass,
        webhookToken: SERVER_SETTINGS.webhookToken,
        taskUrlOrigins: SERVER_SETTINGS.taskUrlOrigins,
      });
      const checks = await runDoctor({
        labelStudioUrl: settings.labelStudioUrl,
        apiKey: settings.labelStudioApiKey,
        project: flags.project,
        backendUrl: flags.backendUrl,
        basicAuthUser: settings.basicAuthUser,
        basicAuthPass: settings.basicAuthPass,
        webhookToken: settings.webhookToken,
        taskUrlOrigins: settings.taskUrlOrigins,
        timeoutMs: flags.timeout,
      });
      const failed = checks.filter((check) => !check.ok);
      if (flags.json) {
        console.log(JSON.stringify(checks, null, 2));
      } else {
        for (const check of checks) {
          console.log(`${check.ok ? 'ok  ' : 'FAIL'} ${check.name}: ${check.detail}`);
          if (!check.ok) console.log(`     fix: ${check.fix}`);
        }
        if (flags.project === undefined) console.log('(project, task file, webhook and ML backend checks need --project)');
      }
      if (failed.length > 0) throw new CliError(`${failed.length} of ${checks.length} checks failed: ${failed.map((check) => check.name).join(', ')}`);
    });
}
