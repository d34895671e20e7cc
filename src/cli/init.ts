/**
 * `init <dir>`: scaffolds a backend project (model.ts, package.json, README, Dockerfiles,
 * docker-compose.yml). Existing files are never overwritten without --force. The model is a
 * bundled example — examples/minimal unless --example names another — with the local modules it
 * imports, their imports of this package's sources rewritten to 'label-studio-ml-tfjs'.
 *
 * The project depends on the very copy of this package the CLI runs from, packed into
 * vendor/<name>-<version>.tgz (this package is not on the npm registry), unless
 * --package-version names a registry version range.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { Command, Option } from 'commander';
import { CLI_NAME, CliError, packageJson, packageRoot, runningFromDist } from './support.js';
import * as templates from './init-templates.js';

export const EXAMPLES = ['minimal', 'text-classifier'] as const;

interface InitFlags {
  example?: (typeof EXAMPLES)[number];
  force?: boolean;
  name?: string;
  packageVersion?: string;
}

const run = promisify(execFile);

export function initCommand(): Command {
  return new Command('init')
    .description('scaffold a backend project: model.ts, package.json, README.md, Dockerfile(.gpu), docker-compose.yml')
    .argument('<dir>', 'directory to create (or fill)')
    .addOption(new Option('--example <name>', 'the bundled example to start from').choices(EXAMPLES).default('minimal'))
    .option('--name <name>', 'npm package / image name (default: the directory name)')
    .option('--package-version <range>', `depend on ${CLI_NAME} from the npm registry (e.g. ^0.1.0) instead of a packed copy of this one`)
    .option('--force', 'overwrite files that already exist')
    .action(async (dir: string, flags: InitFlags) => init(dir, flags));
}

async function init(dir: string, flags: InitFlags): Promise<void> {
  const target = path.resolve(dir);
  const name = flags.name ?? (path.basename(target).toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[._-]+/, '') || 'ml-backend');
  const modelFiles = await exampleFiles(flags.example ?? 'minimal');
  const pkg = packageJson();
  const vendored = flags.packageVersion === undefined ? `vendor/${pkg.name}-${pkg.version}.tgz` : undefined;
  const ctx: templates.TemplateContext = {
    name,
    pkg,
    packageSpec: vendored ? `file:${vendored}` : flags.packageVersion!,
    extraDependencies: dependenciesOf(Object.values(modelFiles)),
  };
  const files: Record<string, string> = {
    ...modelFiles,
    'package.json': templates.packageJsonTemplate(ctx),
    'tsconfig.json': templates.tsconfigTemplate(),
    'README.md': templates.readmeTemplate(ctx),
    'Dockerfile.gpu': templates.dockerfileGpuTemplate(ctx),
    Dockerfile: templates.dockerfileCpuTemplate(ctx),
    'docker-compose.yml': templates.composeTemplate(ctx),
    '.dockerignore': templates.dockerignoreTemplate(),
  };
  const existing = [...Object.keys(files), ...(vendored ? [vendored] : [])].filter((file) => existsSync(path.join(target, file)));
  if (existing.length > 0 && !flags.force) {
    throw new CliError(`refusing to overwrite ${existing.join(', ')} in ${target} (pass --force)`);
  }
  await mkdir(target, { recursive: true });
  for (const [file, content] of Object.entries(files)) await writeFile(path.join(target, file), content);
  if (vendored) await packInto(path.join(target, vendored));
  const written = [...Object.keys(files), ...(vendored ? [vendored] : [])];
  console.log(`created ${written.length} files in ${target}${existing.length > 0 ? ` (overwrote ${existing.join(', ')})` : ''}:`);
  for (const file of written) console.log(`  ${file}`);
  console.log(`next: cd ${path.relative(process.cwd(), target) || '.'} && npm install && npx ${CLI_NAME} start model.ts`);
}

/**
 * `npm pack` of the running copy into `tarball`; a source checkout is built first (the
 * package's entry points are the compiled dist/ files).
 */
async function packInto(tarball: string): Promise<void> {
  const root = packageRoot();
  const dir = path.dirname(tarball);
  await mkdir(dir, { recursive: true });
  try {
    if (!runningFromDist()) await run('npm', ['run', 'build', '--silent'], { cwd: root });
    const { stdout } = await run('npm', ['pack', root, '--pack-destination', dir, '--silent'], { cwd: dir });
    const produced = path.join(dir, stdout.trim().split('\n').at(-1) ?? '');
    if (produced !== tarball) await rename(produced, tarball);
  } catch (error) {
    const detail = (error as { stderr?: string }).stderr?.trim() || (error as Error).message;
    throw new CliError(`could not pack ${CLI_NAME} from ${root} into ${dir}: ${detail.split('\n')[0]} (or pass --package-version to depend on a registry version)`);
  }
}

/** model.ts of the example and every local module it imports, with package imports rewritten. */
async function exampleFiles(example: string): Promise<Record<string, string>> {
  // The TypeScript sources ship in the package (files: examples); dist holds compiled copies.
  const dir = path.join(packageRoot(), 'examples', example);
  if (!existsSync(path.join(dir, 'model.ts'))) {
    throw new CliError(`example ${example} has no model.ts in ${dir}${runningFromDist() ? ' (the package was published without its examples)' : ''}`);
  }
  const files: Record<string, string> = {};
  const queue = ['model.ts'];
  while (queue.length > 0) {
    const file = queue.shift() as string;
    if (file in files) continue;
    const source = await readFile(path.join(dir, file), 'utf8');
    files[file] = rewriteImports(source);
    for (const local of localImports(source)) if (!(local in files)) queue.push(local);
  }
  return files;
}

const IMPORT_FROM = /(\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)(['"])([^'"]+)\2/g;

/** `../../src/...` (this package's sources) becomes the package name. */
export function rewriteImports(source: string): string {
  return source.replace(IMPORT_FROM, (whole, lead: string, quote: string, specifier: string) =>
    /^(\.\.\/)+src\//.test(specifier) ? `${lead}${quote}${CLI_NAME}${quote}` : whole,
  );
}

/** Sibling modules imported as './x.js' (TypeScript sources named x.ts). */
function localImports(source: string): string[] {
  return [...source.matchAll(IMPORT_FROM)]
    .map((m) => m[3] ?? '')
    .filter((s) => /^\.\/[\w.-]+\.js$/.test(s))
    .map((s) => s.slice(2).replace(/\.js$/, '.ts'));
}

/** Bare package imports the model files use (besides this package and node: builtins), pinned as we pin them. */
function dependenciesOf(sources: string[]): Record<string, string> {
  const pkg = packageJson();
  const known = { ...pkg.dependencies, ...pkg.optionalDependencies };
  const deps: Record<string, string> = {};
  for (const source of sources) {
    for (const match of source.matchAll(IMPORT_FROM)) {
      const specifier = match[3] ?? '';
      if (specifier.startsWith('.') || isBuiltin(specifier) || specifier === CLI_NAME) continue;
      const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : (specifier.split('/')[0] ?? specifier);
      deps[name] = known[name] ?? '*';
    }
  }
  return deps;
}
