import type { MetricSeries, RunDetail } from '../../../src-shared/domain/runs';
import type { TrainRunResult } from '../../../src-shared/domain/training';
import { applySetArgs } from '../../../src-shared/method/sweep';
import { client } from '../api/client';

export interface PresetView {
  name: string;
  description: string;
  config: Record<string, unknown>;
}

/** The Train page: a preset, the keys the user changed, and the run being watched live. */
export class TrainState {
  presets = $state<PresetView[]>([]);
  preset = $state('laptop');
  /** Editable copy of the preset's keys, as text (so "8/255" stays readable). */
  fields = $state<Record<string, string>>({});
  /** `key=value` lines applied last, like `puma train --set` (any config key, also ones the preset lacks). */
  overrides = $state('');
  run = $state<RunDetail | null>(null);
  series = $state<MetricSeries[]>([]);
  error = $state<string | null>(null);
  busy = $state(false);

  result = $derived((this.run?.result as TrainRunResult | null) ?? null);

  constructor() {
    client.on('run.progress', (e) => {
      if (this.run && e.runId === this.run.id) {
        this.run.progress = e.progress;
        this.run.progress_text = e.text;
        this.run.eta_seconds = e.etaSeconds;
      }
    });
    client.on('run.metrics', (e) => {
      if (!this.run || e.runId !== this.run.id) return;
      const next = [...this.series];
      for (const p of e.points) {
        let s = next.find((x) => x.key === p.key);
        if (!s) next.push((s = { key: p.key, points: [] }));
        s.points = [...s.points, { step: p.step, value: p.value }];
      }
      this.series = next;
    });
    const reload = (e: { runId: number }) => {
      if (this.run && e.runId === this.run.id) void this.open(e.runId);
    };
    client.on('run.status', reload);
    client.on('run.result', reload);
  }

  async load(): Promise<void> {
    try {
      this.presets = (await client.call('training.presets', {})) as PresetView[];
      this.choose(this.preset);
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  choose(name: string): void {
    this.preset = name;
    const p = this.presets.find((x) => x.name === name);
    if (!p) return;
    this.fields = Object.fromEntries(Object.entries(p.config).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
  }

  config(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, text] of Object.entries(this.fields)) {
      const t = text.trim();
      try {
        out[k] = JSON.parse(t);
      } catch {
        out[k] = t; // e.g. 8/255, strategy names
      }
    }
    const sets = this.overrides
      .split(/\n+/)
      .map((l) => l.trim().replace(/^--set\s+/, ''))
      .filter((l) => l !== '');
    return applySetArgs(out, sets);
  }

  async start(): Promise<void> {
    this.busy = true;
    this.error = null;
    try {
      const config = this.config(); // a bad override line throws here, shown as the error
      const { runId } = await client.call('training.start', { config });
      this.series = [];
      location.hash = `#/train/${runId}`;
      await this.open(runId);
    } catch (e) {
      this.error = (e as Error).message;
    } finally {
      this.busy = false;
    }
  }

  async open(id: number): Promise<void> {
    try {
      const [run, series] = await Promise.all([client.call('runs.get', { id }), client.call('runs.metrics', { id, maxPoints: 2000 })]);
      this.run = run;
      this.series = series;
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  async cancel(): Promise<void> {
    if (!this.run) return;
    await client.call('runs.cancel', { id: this.run.id });
  }

  async resume(): Promise<void> {
    if (!this.run) return;
    this.error = null;
    try {
      await client.call('training.resume', { id: this.run.id });
      await this.open(this.run.id);
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  pointsOf(key: string): Array<{ step: number; value: number }> {
    return this.series.find((s) => s.key === key)?.points ?? [];
  }
}
