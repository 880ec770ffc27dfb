/**
 * `puma models import` of PyTorch checkpoints as a user runs it: the three checkpoints of the
 * issue's check (a DM-Improves-AT PreActResNet-18 wrapped with module.0.*, a bare ResNet-18, a
 * DeepMind WideResNet-SiLU with CIFAR-10 normalisation given on the command line), each imported
 * with --arch auto and evaluated on a CIFAR-10-binary dataset whose labels are PyTorch's own
 * predictions: 100 %, JSON as documented. Bad files exit 2 with the file named, nothing recorded.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp';
import { cifarBatch, write } from '../unit/datasets/writers';

const FIXTURES = path.resolve('test/fixtures/pytorch');
const expected = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'expected.json'), 'utf8')) as {
  images: number[];
  models: Record<string, { logits: number[][] }>;
};

let dir: string;
let cleanup: () => void;
let db: string;

function puma(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.resolve('bin/puma.mjs'), ...args, '--db', db], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  ({ dir, cleanup } = tempDir('puma-pytorch-cli-'));
  db = path.join(dir, 'cli.db');
});
afterAll(() => cleanup?.());

/** A CIFAR-10-binary dataset of the fixture images labelled with `file`'s PyTorch predictions. */
function datasetFor(file: string, name: string): void {
  const labels = expected.models[file]!.logits.map((row) => row.indexOf(Math.max(...row)));
  const src = path.join(dir, name);
  const hwc = Uint8Array.from(expected.images);
  for (let b = 1; b <= 5; b++) write(src, `data_batch_${b}.bin`, cifarBatch(hwc, labels));
  write(src, 'test_batch.bin', cifarBatch(hwc, labels));
  const r = puma('datasets', 'import', src, '--name', name, '--format', 'cifar10', '--json');
  expect(r.status, r.stderr).toBe(0);
}

describe('puma models import FILE.pt', () => {
  it.each([
    ['preact_dm_wrapped.pt', [], 'preact-resnet18'],
    ['resnet18_w4.pt', [], 'resnet18'],
    ['dm_wrn_10_1_silu.pt', ['--normalize', '0.4914,0.4822,0.4465/0.2471,0.2435,0.2616'], 'dm-wrn'],
  ])('%s: --arch auto, scored on its own predictions', (file, extra, arch) => {
    const name = file.replace(/\W/g, '_');
    datasetFor(file, `ds_${name}`);
    const r = puma(
      'models',
      'import',
      path.join(FIXTURES, file),
      '--name',
      name,
      '--arch',
      'auto',
      ...extra,
      '--evaluate-on',
      `ds_${name}`,
      '--robust-eps',
      '0',
      '--json',
    );
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const out = JSON.parse(lines[0]!);
    expect(out.model_id).toBeGreaterThan(0);
    expect(out.provenance.architecture).toBe(arch);
    expect(out.accuracy).toMatchObject({ clean: 1, robust: null, count: 6 });
  });

  it('a pickle naming os.system: exit 2, the file and the global named, nothing recorded', () => {
    const before = JSON.parse(puma('models', 'list', '--json').stdout).models.length;
    const r = puma('models', 'import', path.join(FIXTURES, 'bad', 'os_system.pt'), '--name', 'evil', '--json');
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/os_system\.pt \(data\.pkl\): the pickle names the global posix\.system/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(JSON.parse(puma('models', 'list', '--json').stdout).models).toHaveLength(before);
  });
});
