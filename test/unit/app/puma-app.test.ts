import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { forkJobLauncher } from '../../../src-main/jobs/fork-launcher';
import { PumaApp } from '../../../src-main/services/app';
import { tempDir } from '../../helpers/tmp';

describe('PumaApp builds each service once', () => {
  let app: PumaApp;
  let cleanup: () => void;
  beforeEach(() => {
    const t = tempDir('puma-app-');
    cleanup = t.cleanup;
    app = new PumaApp({ dbPath: path.join(t.dir, 'log.db'), launcher: forkJobLauncher(), mode: 'browser' });
  });
  afterEach(() => {
    app.close();
    cleanup();
  });

  it('hands the one DatasetService and ModelService to the services that use them', () => {
    expect(app.training.datasets).toBe(app.datasets);
    expect(app.margins.datasets).toBe(app.datasets);
    expect(app.margins.models).toBe(app.models);
  });

  it('picks files with the picker the Electron entry sets on it', async () => {
    await expect(app.dispatch('dialog.pickPath', { kind: 'file' })).rejects.toMatchObject({
      status: 400,
      message: expect.stringMatching(/needs the desktop app/),
    });
    app.pathPicker = async () => null;
    await expect(app.dispatch('dialog.pickPath', { kind: 'file' })).resolves.toEqual({ path: null });
  });
});
