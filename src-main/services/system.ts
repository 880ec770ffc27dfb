import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackendInfo } from '../../src-shared/api/contract';
import { BACKEND_ALIASES, BACKEND_CHOICES } from '../../src-shared/domain/backends';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));

function findPackageJson(): { version: string; root: string } {
  let dir = here;
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version: string };
      if (pkg.name === 'puma-lab') return { version: pkg.version, root: dir };
    } catch {
      /* keep climbing */
    }
    dir = path.dirname(dir);
  }
  return { version: '0.0.0', root: process.cwd() };
}

const pkg = findPackageJson();
export const APP_VERSION = pkg.version;
export const APP_ROOT = pkg.root;

let commit: string | null | undefined;
/** The git commit of the app's source, when it runs from a checkout (recorded with every run). */
export function gitCommit(): string | null {
  if (commit !== undefined) return commit;
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: APP_ROOT, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    commit = null;
  }
  return commit;
}

// The engine's names and ladder (src-shared/domain/backends.ts), without loading TensorFlow.js in main.
const BACKEND_PACKAGE: Record<string, string | null> = {
  'node-gpu': '@tensorflow/tfjs-node-gpu',
  node: '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: null,
};

function installed(pkgName: string | null): boolean {
  if (!pkgName) return true;
  try {
    require.resolve(pkgName);
    return true;
  } catch {
    return false;
  }
}

/**
 * The backend jobs will ask for, without loading TensorFlow.js in the main process: the first
 * installed rung of the ladder, or PUMA_BACKEND. Jobs verify it when they start and record the
 * backend and device they really got with each run.
 */
export function plannedBackend(requested = process.env.PUMA_BACKEND): BackendInfo {
  const notes: string[] = [];
  const preferred = requested && requested !== 'auto' ? (BACKEND_ALIASES[requested] ?? requested) : undefined;
  if (preferred) {
    if (!(preferred in BACKEND_PACKAGE)) {
      notes.push(`PUMA_BACKEND=${preferred} is not one of ${BACKEND_CHOICES.join(', ')}; ignored.`);
    } else if (installed(BACKEND_PACKAGE[preferred])) {
      return { backend: preferred, device: preferred === 'node-gpu' ? 'gpu (to be verified by the job)' : 'cpu', notes: [`chosen by PUMA_BACKEND`] };
    } else notes.push(`PUMA_BACKEND=${preferred}, but ${BACKEND_PACKAGE[preferred]} is not installed.`);
  }
  for (const b of BACKEND_CHOICES) {
    if (installed(BACKEND_PACKAGE[b])) {
      return { backend: b, device: b === 'node-gpu' ? 'gpu (to be verified by the job)' : 'cpu', notes };
    }
    notes.push(`${BACKEND_PACKAGE[b]} is not installed.`);
  }
  return { backend: 'cpu', device: 'cpu', notes };
}
