// Backend ladder: tfjs-node-gpu -> tfjs-node -> wasm -> cpu, with an explicit override.
// tfjs-node(-gpu) are optionalDependencies (native, often not installable): loaded by dynamic
// import with a non-literal specifier so neither TypeScript nor a bundler tries to resolve them.
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';

import { BACKEND_ALIASES, BACKEND_CHOICES, type BackendChoice } from '../../src-shared/domain/backends';

export { BACKEND_CHOICES, type BackendChoice };

export interface BackendInfo {
  /** The choice that was set up. */
  backend: BackendChoice;
  /** tf.getBackend() after setup: 'tensorflow' for tfjs-node(-gpu), else 'wasm' / 'cpu'. */
  tfBackend: string;
  /** Human-readable device, e.g. 'GPU (CUDA)', 'CPU (native TensorFlow)', 'CPU (wasm SIMD, 1 thread)'. */
  device: string;
  /** Why earlier rungs of the ladder were skipped, fallbacks, warnings. */
  notes: string[];
  versions: Record<string, string>;
}

/** Maps user spellings (CLI --backend, PUMA_BACKEND) to a choice; throws on anything else. */
export function parseBackendChoice(value: string, source = 'backend'): BackendChoice {
  const choice = BACKEND_ALIASES[value.trim().toLowerCase()];
  if (choice == null) {
    throw new Error(`backend.ts: unknown ${source} '${value}'; expected one of ${BACKEND_CHOICES.join(', ')}`);
  }
  return choice;
}

const require = createRequire(import.meta.url);

function packageVersion(name: string): string | undefined {
  try {
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return undefined;
  }
}

function collectVersions(): Record<string, string> {
  const versions: Record<string, string> = { node: process.versions.node, 'tfjs-core': tf.version_core };
  for (const name of ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu']) {
    const v = packageVersion(name);
    if (v != null) versions[name.replace('@tensorflow/', '')] = v;
  }
  return versions;
}

async function importOptional(specifier: string): Promise<unknown> {
  return import(/* @vite-ignore */ specifier);
}

function errorText(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0].slice(0, 200);
}

type Attempt = { ok: true; device: string; notes: string[] } | { ok: false; reason: string };

async function tryNode(gpu: boolean): Promise<Attempt> {
  const pkg = gpu ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
  try {
    await importOptional(pkg);
  } catch (e) {
    return { ok: false, reason: `${pkg} not available (${errorText(e)})` };
  }
  if (!(await tf.setBackend('tensorflow'))) return { ok: false, reason: `${pkg} loaded but the 'tensorflow' backend failed to initialise` };
  await tf.ready();
  const be = tf.backend() as unknown as { isUsingGpuDevice?: boolean };
  if (!gpu) return { ok: true, device: 'CPU (native TensorFlow)', notes: [] };
  if (be.isUsingGpuDevice === true) return { ok: true, device: 'GPU (CUDA, native TensorFlow)', notes: [] };
  // tfjs-node-gpu silently falls back to the CPU when CUDA 11.2 / cuDNN 8.1 cannot be loaded.
  return {
    ok: true,
    device: 'CPU (native TensorFlow; tfjs-node-gpu found no usable GPU)',
    notes: ['tfjs-node-gpu is installed but no GPU device is in use: CUDA 11.2 and cuDNN 8.1 libraries are probably missing; running on the CPU'],
  };
}

async function tryWasm(): Promise<Attempt> {
  try {
    // In Node the backend locates its .wasm files next to its own dist/ (verified with 4.22),
    // so no setWasmPaths is needed; a browser build must call setWasmPaths itself.
    await import('@tensorflow/tfjs-backend-wasm');
    if (!(await tf.setBackend('wasm'))) return { ok: false, reason: 'wasm backend failed to initialise' };
    await tf.ready();
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
    return { ok: true, device: `CPU (wasm${simd ? ' SIMD' : ''}, ${threads ? 'multi-threaded' : '1 thread'})`, notes: [] };
  } catch (e) {
    return { ok: false, reason: `wasm backend failed (${errorText(e)})` };
  }
}

async function tryCpu(): Promise<Attempt> {
  if (!(await tf.setBackend('cpu'))) return { ok: false, reason: 'cpu backend failed to initialise' };
  await tf.ready();
  return { ok: true, device: 'CPU (pure JavaScript, slow)', notes: [] };
}

const ATTEMPTS: Record<BackendChoice, () => Promise<Attempt>> = {
  'node-gpu': () => tryNode(true),
  node: () => tryNode(false),
  wasm: tryWasm,
  cpu: tryCpu,
};

/**
 * Sets the tfjs backend. With `preferred` (or env PUMA_BACKEND) only that backend is tried and
 * failure throws; otherwise the ladder node-gpu -> node -> wasm -> cpu is walked.
 */
export async function resolveBackend(preferred?: string): Promise<BackendInfo> {
  const requested = preferred ?? process.env.PUMA_BACKEND;
  const source = preferred != null ? 'backend' : 'PUMA_BACKEND';
  const ladder: BackendChoice[] =
    requested != null && requested !== '' && requested !== 'auto' ? [parseBackendChoice(requested, source)] : [...BACKEND_CHOICES];
  const notes: string[] = [];
  for (const choice of ladder) {
    const attempt = await ATTEMPTS[choice]();
    if (attempt.ok) {
      return { backend: choice, tfBackend: tf.getBackend(), device: attempt.device, notes: [...notes, ...attempt.notes], versions: collectVersions() };
    }
    notes.push(attempt.reason);
  }
  throw new Error(`backend.ts: could not set up ${ladder.length === 1 ? `the requested backend '${ladder[0]}'` : 'any backend'}: ${notes.join('; ')}`);
}
