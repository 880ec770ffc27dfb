/** Preload: only forwards between the page and main; main validates everything. */
import { contextBridge, ipcRenderer } from 'electron';
import type { EventMessage, PumaBridge } from '../../src-shared/api/contract';
import { IPC_EVENT_CHANNEL, ipcChannel } from '../../src-shared/api/channels';

const bridge: PumaBridge = {
  invoke: (op, payload) => ipcRenderer.invoke(ipcChannel(op), payload),
  onEvent: (listener) => {
    const wrapped = (_e: unknown, m: EventMessage): void => listener(m);
    ipcRenderer.on(IPC_EVENT_CHANNEL, wrapped);
    return () => ipcRenderer.removeListener(IPC_EVENT_CHANNEL, wrapped);
  },
};

contextBridge.exposeInMainWorld('puma', bridge);
