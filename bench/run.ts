/**
 * `npm run bench [-- name ...]`: runs each benchmark in its own process (so one cannot skew the
 * next through a warm JIT or a leaked backend) and prints one JSON object with every result.
 * Speed and memory targets live here, never in timed unit tests.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tsx = path.join(root, 'node_modules', '.bin', 'tsx');

interface Bench {
  name: string;
  command: string[];
  target: string;
}

const BENCHES: Bench[] = [
  {
    name: 'perceptron-cli',
    command: [
      process.execPath,
      path.join(root, 'bin', 'puma.mjs'),
      'perceptron',
      '--k',
      '200',
      '--eps',
      '0.01',
      '--alphas',
      '0.5,1,2,4,8',
      '--ratios',
      '0,0.5,0.8',
      '--strategies',
      'none,pe,pd',
      '--seeds',
      '3',
      '--json',
      '--db',
      path.join(root, '.cache', 'bench.db'),
    ],
    target: 'the CLI call with K = 200 finishes within 60 s',
  },
  { name: 'perceptron', command: [tsx, 'bench/perceptron.ts'], target: 'study in-process, K = 200, under 60 s' },
  // `puma bench`: the training step `puma train` runs (src-main/engine/benchmark.ts)
  {
    name: 'engine',
    command: [process.execPath, path.join(root, 'bin', 'puma.mjs'), 'bench', '--json'],
    target: 'wasm cnn-small train step ≤ 3.5 × forward; goal ≥ 630 img/s',
  },
  { name: 'datasets', command: [tsx, 'bench/datasets.ts'], target: '1M-image npz import ≥ 100 MB/s, RSS < 1.5 GB; pool ≥ 20k img/s' },
  { name: 'margins', command: [tsx, 'bench/margins.ts', '--backend', 'wasm'], target: 'samples/s and gradient evaluations per sample' },
  { name: 'training', command: [tsx, 'bench/training.ts'], target: 'laptop preset img/s and wall time (≤ 10 min)' },
  { name: 'ui-scale', command: [tsx, 'bench/ui-scale.ts'], target: 'runs view (1,000 runs) and compare view (20 × 400 × 6) render < 300 ms' },
];

const wanted = process.argv.slice(2);
const selected = wanted.length ? BENCHES.filter((b) => wanted.includes(b.name)) : BENCHES;
if (wanted.length && selected.length !== wanted.length) {
  console.error(`Unknown benchmark. Choose from: ${BENCHES.map((b) => b.name).join(', ')}`);
  process.exit(2);
}

const results: Record<string, unknown> = {};
for (const b of selected) {
  process.stderr.write(`bench ${b.name} (${b.target})…\n`);
  const t0 = performance.now();
  const r = spawnSync(b.command[0], b.command.slice(1), { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'inherit'] });
  const wall = (performance.now() - t0) / 1000;
  let output: unknown = r.stdout.trim();
  try {
    output = JSON.parse(r.stdout);
  } catch {
    /* keep the text */
  }
  results[b.name] = { target: b.target, exit_code: r.status, wall_seconds: Number(wall.toFixed(2)), output };
}
console.log(JSON.stringify({ machine: { cpus: (await import('node:os')).cpus().length, node: process.version }, results }, null, 2));
