/**
 * Electron fuses of the packaged app, flipped by electron-builder's afterPack hook (before any
 * signing). Fuses are bits in the Electron binary itself, so an attacker who can set environment
 * variables or command-line arguments cannot turn them back on.
 */
import { FuseV1Options, FuseVersion, flipFuses, type FuseConfig } from '@electron/fuses';
import { Arch } from 'electron-builder';
import path from 'node:path';

/** The one list of fuse settings (why each). */
export const FUSES = {
  // ELECTRON_RUN_AS_NODE cannot turn the signed app into a general-purpose Node. (This also
  // stops child_process.fork in the packaged app: it relies on that variable.)
  [FuseV1Options.RunAsNode]: false,
  // Cookies and other session storage are encrypted with an OS-held key.
  [FuseV1Options.EnableCookieEncryption]: true,
  // NODE_OPTIONS cannot inject code (--require) into the app …
  [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: false,
  // … nor --inspect open a debugger port into the main process.
  [FuseV1Options.EnableNodeCliInspectArguments]: false,
  // Only app.asar is loaded: an app/ folder dropped beside it is ignored.
  [FuseV1Options.OnlyLoadAppFromAsar]: true,
} as const satisfies Partial<Record<FuseV1Options, boolean>>;

/** What the hook reads of electron-builder's AfterPackContext. */
export interface PackedApp {
  appOutDir: string;
  electronPlatformName: string;
  arch: Arch;
  packager: { appInfo: { productFilename: string }; executableName?: string };
}

/** The packed Electron binary (the .app bundle on macOS), where the fuses live. */
export function packedBinary(context: PackedApp): string {
  const { appOutDir, electronPlatformName, packager } = context;
  switch (electronPlatformName) {
    case 'darwin':
    case 'mas':
      return path.join(appOutDir, `${packager.appInfo.productFilename}.app`);
    case 'win32':
      return path.join(appOutDir, `${packager.appInfo.productFilename}.exe`);
    case 'linux':
      return path.join(appOutDir, packager.executableName ?? packager.appInfo.productFilename);
    default:
      throw new Error(`scripts/fuses.ts: no known Electron binary for platform '${electronPlatformName}'`);
  }
}

export function fuseConfig(context: PackedApp): FuseConfig {
  return {
    version: FuseVersion.V1,
    // Flipping bits breaks the ad-hoc signature that arm64 macOS requires to run at all.
    resetAdHocDarwinSignature: (context.electronPlatformName === 'darwin' || context.electronPlatformName === 'mas') && context.arch === Arch.arm64,
    ...FUSES,
  };
}

/** electron-builder's afterPack hook (`flip` is @electron/fuses' flipFuses; tests give another). */
export async function afterPack(context: PackedApp, flip: typeof flipFuses = flipFuses): Promise<void> {
  await flip(packedBinary(context), fuseConfig(context));
}
