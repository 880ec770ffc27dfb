import { forkEntry } from '../processes';
import type { FromJob, JobLauncher, JobProcess } from './protocol';

/**
 * Starts each job as a plain Node child process (browser mode, CLI, tests): the `job` entry of
 * src-main/processes.ts (the Electron app starts the same entry as a utilityProcess, app/main.ts).
 */
export function forkJobLauncher(): JobLauncher {
  return (): JobProcess => {
    const child = forkEntry('job', { serialization: 'advanced' });
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
