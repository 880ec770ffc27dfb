/**
 * Entry point of every job process. Runs under child_process.fork (Node) or Electron's
 * utilityProcess; never in the main process, so a crash here cannot take the app down.
 */
import fs from 'node:fs';
import path from 'node:path';
import { JobCancelled, JobContext } from './context';
import { jobHandlers } from './kinds';
import type { FromJob, ToJob } from './protocol';

interface ParentPortLike {
  postMessage(m: unknown): void;
  on(event: 'message', l: (e: { data: unknown }) => void): void;
}
const parentPort = (process as unknown as { parentPort?: ParentPortLike }).parentPort;

const post = (m: FromJob): void => {
  if (parentPort) parentPort.postMessage(m);
  else process.send?.(m);
};

let ctx: JobContext | null = null;

/** Appends a failure's stack to the run's job.log (best effort: the disk may be what failed). */
function keepStack(file: string, stack: string): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.appendFileSync(file, `${new Date().toISOString()} ${stack}\n`);
  } catch {
    /* nothing more to do */
  }
}

async function handle(message: ToJob): Promise<void> {
  if (message.type === 'cancel') {
    if (ctx) ctx.cancelled = true;
    return;
  }
  ctx = new JobContext(message.runId, message.dbPath, message.dataDir, post);
  const handler = jobHandlers[message.kind];
  try {
    if (!handler) throw new Error(`No job handler for run kind '${message.kind}'.`);
    await handler(ctx, message.config);
    post({ type: 'done' });
  } catch (err) {
    if (err instanceof JobCancelled) post({ type: 'error', message: 'cancelled' });
    else {
      // The run's record (shown in the app and over HTTP) gets the message; the stack goes to
      // stderr with --debug (PUMA_DEBUG) and to the run's job.log.
      const text = err instanceof Error ? err.message : String(err);
      const stack = err instanceof Error && err.stack ? err.stack : text;
      if (process.env.PUMA_DEBUG) process.stderr.write(`${stack}\n`);
      keepStack(path.join(message.dataDir, 'runs', String(message.runId), 'job.log'), stack);
      post({ type: 'error', message: text });
    }
  }
  // Let the IPC channel flush, then leave.
  setTimeout(() => process.exit(0), 50);
}

if (parentPort) parentPort.on('message', (e) => void handle(e.data as ToJob));
else process.on('message', (m) => void handle(m as ToJob));
// The main process going away (crash, kill) must not leave an orphaned job computing.
process.on('disconnect', () => process.exit(0));
