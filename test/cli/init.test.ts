import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { rewriteImports } from '../../src/cli/init.js';
import { tempDir } from '../helpers/server.js';
import { expectOneLineFailure, runCli } from './run-cli.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLE = path.join(ROOT, 'examples/text-classifier/model.ts');
const SCAFFOLD = ['model.ts', 'package.json', 'README.md', 'Dockerfile.gpu', 'Dockerfile', 'docker-compose.yml', '.dockerignore', 'tsconfig.json'];
const MINIMAL = path.join(ROOT, 'examples/minimal/model.ts');

describe('cli: init', () => {
  it('scaffolds a project whose files agree with this package, and refuses to overwrite without --force', async () => {
    const dir = path.join(tempDir(), 'My Backend');
    const first = await runCli(['init', dir], { timeoutMs: 120_000 });
    expect(first.code, first.stderr).to.equal(0);
    for (const file of SCAFFOLD) expect(fs.existsSync(path.join(dir, file)), file).to.equal(true);

    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    const ours = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.name).to.equal('my-backend');
    // The copy the CLI runs from, packed into the project (this package is not on the registry).
    const tarball = `vendor/label-studio-ml-tfjs-${ours.version}.tgz`;
    expect(pkg.dependencies['label-studio-ml-tfjs']).to.equal(`file:${tarball}`);
    expect(fs.statSync(path.join(dir, tarball)).size).to.be.greaterThan(10_000);
    expect(pkg.overrides).to.deep.equal(ours.overrides);
    expect(fs.readFileSync(path.join(dir, 'Dockerfile'), 'utf8')).to.include('COPY vendor ./vendor');
    // The starter is examples/minimal, imports rewritten to the package.
    expect(fs.readFileSync(path.join(dir, 'model.ts'), 'utf8')).to.equal(rewriteImports(fs.readFileSync(MINIMAL, 'utf8')));
    expect(pkg.optionalDependencies['@tensorflow/tfjs-node-gpu']).to.equal(ours.optionalDependencies['@tensorflow/tfjs-node-gpu']);
    expect(fs.readFileSync(path.join(dir, 'model.ts'), 'utf8')).to.include("from 'label-studio-ml-tfjs'");
    const gpu = fs.readFileSync(path.join(dir, 'Dockerfile.gpu'), 'utf8');
    expect(gpu).to.include('nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04').and.include('--gpus all').and.include("require('@tensorflow/tfjs-node-gpu')");
    expect(fs.readFileSync(path.join(dir, 'docker-compose.yml'), 'utf8')).to.include('capabilities: [gpu]');

    fs.writeFileSync(path.join(dir, 'model.ts'), '// mine\n');
    const again = await runCli(['init', dir, '--package-version', '^0.1.0']);
    expect(expectOneLineFailure(again)).to.match(/refusing to overwrite model\.ts, package\.json.*--force/);
    expect(fs.readFileSync(path.join(dir, 'model.ts'), 'utf8')).to.equal('// mine\n');

    // Told a registry version, the project depends on it and packs nothing.
    const forced = await runCli(['init', dir, '--force', '--package-version', '^0.1.0']);
    expect(forced.code, forced.stderr).to.equal(0);
    expect(fs.readFileSync(path.join(dir, 'model.ts'), 'utf8')).to.include('extends LabelStudioMLBase');
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).dependencies['label-studio-ml-tfjs']).to.equal('^0.1.0');
    expect(fs.readFileSync(path.join(dir, 'Dockerfile'), 'utf8')).to.not.include('COPY vendor');
  });

  it('--example text-classifier copies the example model and the modules it imports, imports rewritten to the package', async function () {
    if (!fs.existsSync(EXAMPLE)) this.skip();
    const dir = path.join(tempDir(), 'example');
    const result = await runCli(['init', dir, '--example', 'text-classifier', '--package-version', '^0.1.0']);
    expect(result.code, result.stderr).to.equal(0);
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.ts'));
    expect(files.sort()).to.deep.equal(['model.ts']);
    const exported = fs.readFileSync(path.join(ROOT, 'src/index.ts'), 'utf8');
    for (const file of files) {
      const original = fs.readFileSync(path.join(ROOT, 'examples/text-classifier', file), 'utf8');
      expect(fs.readFileSync(path.join(dir, file), 'utf8'), file).to.equal(rewriteImports(original)).and.not.match(/from '(\.\.\/)+src\//);
      // Names imported from deep source paths must be exported by the package entry.
      for (const match of original.matchAll(/import (?:type )?\{([^}]+)\} from '(?:\.\.\/)+src\/(?!index\.js)[^']+'/g)) {
        for (const name of (match[1] ?? '').split(',').map((n) => n.trim().replace(/^type /, '')).filter(Boolean)) expect(exported, `${file}: ${name}`).to.match(new RegExp(`\\b${name}\\b`));
      }
    }
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    // The example takes TF.js from the package entry (one tfjs instance), so the package is the dependency.
    expect(pkg.dependencies).to.have.property('label-studio-ml-tfjs');
    expect(pkg.dependencies).to.not.have.property('@tensorflow/tfjs');
  });

  it('rejects an unknown example', async () => {
    expect(expectOneLineFailure(await runCli(['init', tempDir(), '--example', 'nope']))).to.match(/--example.*nope.*Allowed choices are minimal, text-classifier/);
  });
});
