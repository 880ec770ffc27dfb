import type { Session, WebContents } from 'electron';
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

/** Every permission request (camera, microphone, notifications, location…) and check refused: the app needs none. */
export function denyPermissions(session: Session): void {
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
}

/**
 * Every web contents (the window's and any other): no <webview> can be attached, nothing
 * navigates away from the app, and no new window opens (https links go to the user's browser).
 */
export function lockContents(contents: WebContents, openExternal: (url: string) => void): void {
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.on('will-navigate', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    if (url.startsWith('https://')) openExternal(url);
    return { action: 'deny' };
  });
}

export { CONTENT_SECURITY_POLICY };
