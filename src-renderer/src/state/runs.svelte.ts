import type { RunSummary } from '../../../src-shared/domain/runs';
import { client } from '../api/client';

/** The runs list, kept fresh by the main process's events. */
export class RunsState {
  runs = $state<RunSummary[]>([]);
  error = $state<string | null>(null);
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor() {
    const soon = (): void => this.refreshSoon();
    client.on('run.status', soon);
    client.on('run.progress', soon);
    void this.refresh();
  }

  async refresh(): Promise<void> {
    try {
      this.runs = await client.call('runs.list', { limit: 500 });
      this.error = null;
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  /** Coalesces bursts of events into one request. */
  refreshSoon(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.refresh();
    }, 250);
  }

  async cancel(id: number): Promise<void> {
    await client.call('runs.cancel', { id });
    await this.refresh();
  }
}
