import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/server.js';
import { expectOneLineFailure, runCli } from './run-cli.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLE = path.join(ROOT, 'examples/text-classifier/model.ts');
const SCAFFOLD = ['model.ts', 'package.json', 'README.md', 'Dockerfile.gpu', 'Dockerfile', 'docker-compose.yml', '.dockerignore', 'tsconfig.json'];

/** Type-checks scaffolded projects against this package's sources (mapped to its name). */
function typecheck(dirs: string[]): string {
  const config = path.join(tempDir('mlb-init-tsc-'), 'tsconfig.json');
  fs.writeFileSync(config, JSON.stringify({
    extends: path.join(ROOT, 'tsconfig.json'),
    compilerOptions: {
      noEmit: true, types: ['node'], typeRoots: [path.join(ROOT, 'node_modules/@types')],
      paths: { 'label-studio-ml-tfjs': [path.join(ROOT, 'src/index.ts')], '@tensorflow/tfjs': [path.join(ROOT, 'node_modules/@tensorflow/tfjs/dist/index.d.ts')] }, noUnusedLocals: false, noUnusedParameters: false,
    },
    include: dirs.map((dir) => path.join(dir, '*.ts')),
  }));
  const result = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', config], { encoding: 'utf8' });
  return result.status === 0 ? '' : `${result.stdout}${result.stderr}`;
}

describe('cli: init', () => {
  it('scaffolds a project whose files agree with this package, and refuses to overwrite without --force', async () => {
    const dir = path.join(tempDir(), 'My Backend');
    const first = await runCli(['init', dir]);
    expect(first.code, first.stderr).to.equal(0);
    for (const file of SCAFFOLD) expect(fs.existsSync(path.join(dir, file)), file).to.equal(true);

    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    const ours = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.name).to.equal('my-backend');
    expect(pkg.dependencies['label-studio-ml-tfjs']).to.equal(`^${ours.version}`);
    expect(pkg.optionalDependencies['@tensorflow/tfjs-node-gpu']).to.equal(ours.optionalDependencies['@tensorflow/tfjs-node-gpu']);
    expect(fs.readFileSync(path.join(dir, 'model.ts'), 'utf8')).to.include("from 'label-studio-ml-tfjs'");
    const gpu = fs.readFileSync(path.join(dir, 'Dockerfile.gpu'), 'utf8');
    expect(gpu).to.include('nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04').and.include('--gpus all').and.include("require('@tensorflow/tfjs-node-gpu')");
    expect(fs.readFileSync(path.join(dir, 'docker-compose.yml'), 'utf8')).to.include('capabilities: [gpu]');

    fs.writeFileSync(path.join(dir, 'model.ts'), '// mine\n');
    const again = await runCli(['init', dir]);
    expect(expectOneLineFailure(again)).to.match(/refusing to overwrite model\.ts, package\.json.*--force/);
    expect(fs.readFileSync(path.join(dir, 'model.ts'), 'utf8')).to.equal('// mine\n');

    const forced = await runCli(['init', dir, '--force']);
    expect(forced.code).to.equal(0);
    expect(fs.readFileSync(path.join(dir, 'model.ts'), 'utf8')).to.include('extends LabelStudioMLBase');
  });

  it('--example text-classifier copies the example model and its modules with imports rewritten; both scaffolds type-check', async function () {
    if (!fs.existsSync(EXAMPLE)) this.skip();
    const root = tempDir();
    const plain = path.join(root, 'plain');
    const example = path.join(root, 'example');
    const [a, b] = await Promise.all([runCli(['init', plain]), runCli(['init', example, '--example', 'text-classifier'])]);
    expect(a.code, a.stderr).to.equal(0);
    expect(b.code, b.stderr).to.equal(0);
    const files = fs.readdirSync(example).filter((f) => f.endsWith('.ts'));
    expect(files).to.include('model.ts').and.include('head.ts');
    for (const file of files) {
      const source = fs.readFileSync(path.join(example, file), 'utf8');
      expect(source, file).to.not.match(/from '(\.\.\/)+src\//);
    }
    const pkg = JSON.parse(fs.readFileSync(path.join(example, 'package.json'), 'utf8'));
    expect(pkg.dependencies['@tensorflow/tfjs']).to.equal('4.22.0');
    expect(typecheck([plain, example])).to.equal('');
  });

  it('rejects an unknown example', async () => {
    expect(expectOneLineFailure(await runCli(['init', tempDir(), '--example', 'nope']))).to.match(/--example.*nope.*Allowed choices are text-classifier/);
  });
});
