/** Electron IPC channel names, all in one place (kept free of imports so the preload stays tiny). */
export const ipcChannel = (op: string): string => `puma:${op}`;
export const IPC_EVENT_CHANNEL = 'puma:event';
