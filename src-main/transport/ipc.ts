import { IPC_EVENT_CHANNEL, ipcChannel, operationNames, type EventMessage } from '../../src-shared/api/contract';
import { answerFor } from '../../src-shared/api/errors';
import type { PumaApp } from '../services/app';

/** The parts of Electron's ipcMain and IpcMainInvokeEvent this transport uses (no electron import here). */
export interface IpcMainLike {
  handle(channel: string, listener: (event: IpcEventLike, payload: unknown) => unknown): void;
}
export interface IpcEventLike {
  senderFrame?: { url: string } | null;
}

/**
 * Registers one IPC handler per contract operation. Each checks that the request comes from our
 * own renderer, then hands the payload to the app, which validates it against the contract.
 */
export function registerIpcHandlers(ipcMain: IpcMainLike, app: Pick<PumaApp, 'dispatch'>, isTrustedUrl: (url: string) => boolean): string[] {
  const channels: string[] = [];
  for (const op of operationNames) {
    const channel = ipcChannel(op);
    ipcMain.handle(channel, async (event, payload) => {
      const url = event.senderFrame?.url ?? '';
      if (!isTrustedUrl(url)) throw new Error(`Refused ${op}: the request did not come from PUMA Lab's window.`);
      try {
        return await app.dispatch(op, payload);
      } catch (err) {
        throw ipcRejection(op, err);
      }
    });
    channels.push(channel);
  }
  return channels;
}

/**
 * What the window's promise rejects with: the answer of errors.ts, as over HTTP. Electron passes
 * on only an Error's message, so the window sees the message; the status stays on the error for
 * callers in main (and tests). Faults of ours are logged with their stack here.
 */
export function ipcRejection(op: string, err: unknown): Error & { status: number } {
  const answer = answerFor(err);
  if (answer.status >= 500) console.error(`PUMA Lab: ${op}: ${(err as Error)?.stack ?? String(err)}`);
  return Object.assign(new Error(answer.message), { status: answer.status });
}

/** Forwards app events to a window. */
export function forwardEvents(app: Pick<PumaApp, 'onEvent'>, send: (channel: string, message: EventMessage) => void): () => void {
  return app.onEvent((m) => send(IPC_EVENT_CHANNEL, m));
}
