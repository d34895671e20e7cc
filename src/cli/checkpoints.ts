/**
 * `checkpoints list|show|rollback|prune`: the saved versions under MODEL_DIR, read and changed
 * through the same checkpoint store the server uses, without starting a server.
 */
import { existsSync } from 'node:fs';
import { Command } from 'commander';
import type { CheckpointInfo, CheckpointStore } from '../store/types.js';
import { CliError, formatBytes, formatMetrics, intArg, resolveModelDir } from './support.js';
import { formatSummary, summarizeModels } from './model-summary.js';

interface CommonFlags {
  project?: string;
  modelDir?: string;
  json?: boolean;
}

const withCommon = (command: Command) =>
  command
    .option('--project <id>', 'Label Studio project id (default: every project for list, the only project otherwise)')
    .option('--model-dir <dir>', 'checkpoint directory (env MODEL_DIR, default ./checkpoints)');

export function checkpointsCommand(): Command {
  const root = new Command('checkpoints').description('inspect, roll back and prune saved model versions (no server needed)');
  root.addCommand(
    withCommon(new Command('list'))
      .description('list versions: date, labels, metrics, annotation count, size, which is current, corrupt ones flagged')
      .option('--json', 'print JSON')
      .action(async (flags: CommonFlags) => list(flags)),
  );
  root.addCommand(
    withCommon(new Command('show'))
      .description('show one version: model summary (layers, parameters) and its train_output')
      .argument('<version>', 'version name, e.g. v0003-20250101T120000')
      .option('--json', 'print JSON')
      .action(async (version: string, flags: CommonFlags) => show(version, flags)),
  );
  root.addCommand(
    withCommon(new Command('rollback'))
      .description('make <version> the current one (a running server on this MODEL_DIR serves it within VERSION_POLL_MS; with REDIS_URL, every replica)')
      .argument('<version>', 'an intact version of the project')
      .action(async (version: string, flags: CommonFlags) => rollback(version, flags)),
  );
  root.addCommand(
    withCommon(new Command('prune'))
      .description('remove all but the newest N versions (the current one is always kept)')
      .requiredOption('--keep <n>', 'versions to keep', intArg(1, 100_000))
      .action(async (flags: CommonFlags & { keep: number }) => prune(flags)),
  );
  return root;
}

interface Opened {
  store: CheckpointStore;
  /** Distributed mode (REDIS_URL set): "current" is the deployment's, in Redis. */
  shared: boolean;
  modelDir: string;
  problems: string[];
}

async function open(flags: CommonFlags): Promise<Opened> {
  const modelDir = resolveModelDir(flags.modelDir);
  if (!existsSync(modelDir)) throw new CliError(`no model directory at ${modelDir} (pass --model-dir or set MODEL_DIR)`);
  const [{ FsCheckpointStore }, { openRedisStores }, { SERVER_SETTINGS, readSetting }] = await Promise.all([
    import('../store/checkpoint-store.js'), import('../store/redis-stores.js'), import('../config/index.js'),
  ]);
  const problems: string[] = [];
  // One-shot commands never watch for changes (pollMs 0).
  const options = { onProblem: (message: string) => problems.push(message), pollMs: 0 };
  const url = readSetting(SERVER_SETTINGS.redisUrl);
  const store = url === undefined
    ? new FsCheckpointStore(modelDir, options)
    : openRedisStores(modelDir, { url, prefix: readSetting(SERVER_SETTINGS.redisPrefix) }, options).checkpoints;
  return { store, shared: url !== undefined, modelDir, problems };
}

async function projectsOf(opened: Opened, flags: CommonFlags, single: boolean): Promise<string[]> {
  const { normalizeProjectId } = await import('../store/safe-names.js');
  if (flags.project !== undefined) return [normalizeProjectId(flags.project)];
  const projects = await opened.store.listProjects();
  if (!single) return projects;
  if (projects.length === 1) return projects;
  throw new CliError(projects.length === 0 ? `no projects under ${opened.modelDir}` : `several projects under ${opened.modelDir} (${projects.join(', ')}): pass --project`);
}

/** The version a server would serve (current, or the newest intact one if current is broken). */
async function servedVersion(opened: Opened, project: string): Promise<string | null> {
  return (await opened.store.loadCurrent(project))?.version ?? null;
}

function labelsOf(info: CheckpointInfo): string[] {
  const labels = info.trainOutput?.labels;
  return Array.isArray(labels) ? labels.map(String) : [];
}

function toJson(info: CheckpointInfo, served: string | null) {
  return {
    version: info.version,
    created_at: info.createdAt,
    current: info.version === served,
    labels: labelsOf(info),
    metrics: info.job?.metrics ?? null,
    annotation_count: info.job?.annotationCount ?? null,
    size_bytes: info.sizeBytes,
    ...(info.corrupt !== undefined && { corrupt: info.corrupt }),
  };
}

async function list(flags: CommonFlags): Promise<void> {
  const opened = await open(flags);
  const projects = await projectsOf(opened, flags, false);
  const out: Record<string, { current_version: string | null; versions: ReturnType<typeof toJson>[] }> = {};
  for (const project of projects) {
    const served = await servedVersion(opened, project);
    out[project] = { current_version: served, versions: (await opened.store.list(project)).map((info) => toJson(info, served)) };
  }
  if (flags.json) {
    console.log(JSON.stringify({ model_dir: opened.modelDir, projects: out }, null, 2));
    return;
  }
  if (projects.length === 0) console.log(`no checkpoints under ${opened.modelDir}`);
  for (const [project, { current_version, versions }] of Object.entries(out)) {
    console.log(`project ${project} (current: ${current_version ?? 'none, untrained'})`);
    if (versions.length === 0) console.log('  no versions');
    for (const v of versions) {
      const mark = v.corrupt !== undefined ? '!' : v.current ? '*' : ' ';
      const facts = [
        v.created_at,
        v.labels.length > 0 ? `labels=${v.labels.join('|')}` : '',
        formatMetrics(v.metrics),
        v.annotation_count !== null ? `annotations=${v.annotation_count}` : '',
        formatBytes(v.size_bytes),
        v.corrupt !== undefined ? `CORRUPT: ${v.corrupt}` : '',
      ].filter((s) => s !== '');
      console.log(`${mark} ${v.version}  ${facts.join('  ')}`);
    }
  }
  for (const problem of opened.problems) console.error(`warning: ${problem}`);
}

async function show(version: string, flags: CommonFlags): Promise<void> {
  const opened = await open(flags);
  const [project] = await projectsOf(opened, flags, true);
  if (project === undefined) throw new CliError('no project');
  const info = (await opened.store.list(project)).find((i) => i.version === version);
  if (!info) throw new CliError(`project ${project} has no version ${JSON.stringify(version)} (see: checkpoints list --project ${project})`);
  const served = await servedVersion(opened, project);
  const models = await summarizeModels(info.dir);
  if (flags.json) {
    console.log(JSON.stringify({ project, ...toJson(info, served), dir: info.dir, job: info.job, train_output: info.trainOutput, models }, null, 2));
    return;
  }
  console.log(`project ${project} version ${info.version}${info.version === served ? ' (current)' : ''}`);
  console.log(`  created     ${info.createdAt}`);
  console.log(`  directory   ${info.dir}`);
  console.log(`  size        ${formatBytes(info.sizeBytes)}`);
  if (info.corrupt !== undefined) console.log(`  CORRUPT     ${info.corrupt} (never served)`);
  if (info.job) {
    console.log(`  job         ${info.job.id} (${info.job.event}), ${info.job.annotationCount ?? '?'} annotations, based on ${info.job.baseVersion ?? '?'}`);
  }
  if (info.job?.metrics) console.log(`  metrics     ${formatMetrics(info.job.metrics)}`);
  if (labelsOf(info).length > 0) console.log(`  labels      ${labelsOf(info).join(', ')}`);
  console.log(models.length > 0 ? 'model:' : 'model: no model.json found in this version');
  for (const summary of models) console.log(formatSummary(summary));
  console.log('train_output:');
  console.log(JSON.stringify(info.trainOutput, null, 2).replace(/^/gm, '  '));
}

async function rollback(version: string, flags: CommonFlags): Promise<void> {
  const opened = await open(flags);
  const [project] = await projectsOf(opened, flags, true);
  if (project === undefined) throw new CliError('no project');
  const before = await servedVersion(opened, project);
  await opened.store.setCurrent(project, version);
  console.log(`project ${project}: current version ${before ?? 'none'} -> ${version}`);
  console.log(opened.shared
    ? 'every replica of the deployment (REDIS_URL) serves it within a second or two, no restart needed'
    : 'a running server on this model directory serves it within a few seconds (VERSION_POLL_MS), no restart needed');
}

async function prune(flags: CommonFlags & { keep: number }): Promise<void> {
  const opened = await open(flags);
  const [project] = await projectsOf(opened, flags, true);
  if (project === undefined) throw new CliError('no project');
  const removed = await opened.store.prune(project, flags.keep);
  console.log(removed.length === 0 ? `project ${project}: nothing to prune` : `project ${project}: removed ${removed.join(', ')}`);
}
