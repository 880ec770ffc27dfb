/**
 * The Node processes PUMA Lab starts besides its main one, and the one way to fork them.
 *
 * From the TypeScript sources (tsx, vitest) an entry is its `.ts` file run through the tsx loader;
 * from a build it is the bundled `out/main/<name>.js`, which electron.vite.config.ts builds from
 * this same list (the build is flat, so every entry lies beside the code that forks it).
 */
import { fork, type ChildProcess, type ForkOptions } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Built name → source file (relative to src-main/). */
export const PROCESS_ENTRIES = {
  /** A job process: runs one run of any kind (jobs/kinds.ts); forked by the CLI, browser mode and tests, or an Electron utilityProcess. */
  job: 'jobs/job-entry.ts',
  /** An extra process of a margins job: computes and commits the chunks it is sent. */
  'margin-worker': 'jobs/margins/worker.ts',
  /** An engine worker: one shard of a data-parallel training step, attack or evaluation. */
  'worker-main': 'engine/worker-main.ts',
} as const;

export type ProcessEntry = keyof typeof PROCESS_ENTRIES;

const here = fileURLToPath(import.meta.url);
const fromSources = here.endsWith('.ts');

/** The file of an entry and the Node flags it needs, for this installation (sources or build). */
export function entryFile(name: ProcessEntry): { file: string; execArgv: string[] } {
  const dir = path.dirname(here);
  return fromSources ? { file: path.join(dir, PROCESS_ENTRIES[name]), execArgv: ['--import', 'tsx'] } : { file: path.join(dir, `${name}.js`), execArgv: [] };
}

/**
 * Whether this process may fork Node children. Not in the packaged Electron app (its code runs
 * from app.asar): its RunAsNode fuse is off (scripts/fuses.ts), and child_process.fork under
 * Electron works only through ELECTRON_RUN_AS_NODE. There the work stays in the job's process.
 */
export function canForkWorkers(versions: Partial<NodeJS.ProcessVersions> = process.versions, file = here): boolean {
  return !(versions.electron && /[\\/]app\.asar[\\/]/.test(file));
}

/** Forks an entry with an IPC channel; stdin ignored, stdout/stderr to this process's stderr unless `options.stdio` says otherwise. */
export function forkEntry(name: ProcessEntry, options: Omit<ForkOptions, 'execArgv'> = {}): ChildProcess {
  if (!canForkWorkers())
    throw new Error(`src-main/processes.ts: the packaged app cannot fork '${name}' (its RunAsNode fuse is off); callers check canForkWorkers() first`);
  const { file, execArgv } = entryFile(name);
  return fork(file, [], { stdio: ['ignore', 2, 2, 'ipc'], ...options, execArgv });
}
