import { CONTENT_SECURITY_POLICY } from '../transport/http';

/** The main window's options: isolated, sandboxed, no Node in the renderer. */
export function mainWindowOptions(preloadPath: string) {
  return {
    width: 1280,
    height: 840,
    minWidth: 900,
    minHeight: 600,
    title: 'PUMA Lab',
    show: false,
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
    },
  } as const;
}

export { CONTENT_SECURITY_POLICY };
