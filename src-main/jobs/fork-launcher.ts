import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { FromJob, JobLauncher, JobProcess } from './protocol';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * Starts each job as a plain Node child process (browser mode, CLI, tests). From the TypeScript
 * sources it runs through tsx; from a build it runs the bundled job entry.
 */
export function forkJobLauncher(entry?: string): JobLauncher {
  const tsEntry = path.join(here, 'job-entry.ts');
  const jsEntry = path.join(here, 'job.js');
  const file = entry ?? (existsSync(tsEntry) ? tsEntry : jsEntry);
  const execArgv = file.endsWith('.ts') ? ['--import', 'tsx'] : [];
  return (): JobProcess => {
    const child = fork(file, [], { execArgv, stdio: ['ignore', 2, 2, 'ipc'], serialization: 'advanced' });
    return {
      pid: child.pid ?? null,
      send: (m) => {
        if (child.connected) child.send(m);
      },
      onMessage: (l) => child.on('message', (m) => l(m as FromJob)),
      onExit: (l) => child.on('exit', (code, signal) => l(code, signal)),
      kill: () => child.kill('SIGKILL'),
    };
  };
}
