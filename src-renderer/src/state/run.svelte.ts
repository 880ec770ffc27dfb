import type { PhaseProgress } from '../../../src-shared/domain/phases';
import { isActive, type MetricSeries, type RunDetail } from '../../../src-shared/domain/runs';
import type { TrainRunResult } from '../../../src-shared/domain/training';
import { client } from '../api/client';

/** What a train run's result may also carry (the margin model / set a run made, written by its job). */
export type RunResultView = TrainRunResult & { margin_model_id?: number | null; margin_set_id?: number | null };

/** The run page (`#/train/N`): one train run, its phases, curves and final row, live while it runs. */
export class RunState {
  run = $state<RunDetail | null>(null);
  series = $state<MetricSeries[]>([]);
  /** The phases as last reported (live), or as the finished run stored them. */
  phases = $state<PhaseProgress[]>([]);
  /** Seconds the job had run at the last report, and when (ms) that report came: the clock runs on from there. */
  private elapsedAt = $state<{ seconds: number; at: number } | null>(null);
  /** Re-read once a second while the run is active, so the elapsed time moves between reports. */
  now = $state(Date.now());
  error = $state<string | null>(null);
  loaded = $state(false);

  result = $derived((this.run?.result as RunResultView | null) ?? null);
  active = $derived(isActive(this.run?.status));
  resumable = $derived(this.run != null && ['cancelled', 'interrupted', 'failed'].includes(this.run.status));
  /** Seconds so far while running (ticking), the stored total once finished. */
  seconds = $derived.by(() => {
    if (this.run?.status === 'running' && this.elapsedAt) return this.elapsedAt.seconds + (this.now - this.elapsedAt.at) / 1000;
    return this.result?.seconds ?? null;
  });
  /** Training throughput: live from the training phase while it runs, else the result's. */
  imagesPerSecond = $derived.by(() => {
    const live = this.phases.find((p) => p.id === 'training')?.rate;
    if (this.active && live != null) return live;
    return this.result && this.result.images_per_second > 0 ? this.result.images_per_second : (live ?? null);
  });

  private off: Array<() => void> = [];
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(readonly id: number) {
    this.off.push(
      client.on('run.progress', (e) => {
        if (e.runId !== id || !this.run) return;
        this.run.progress = e.progress;
        this.run.progress_text = e.text;
        this.run.eta_seconds = e.etaSeconds;
        if (e.phases) this.phases = e.phases;
        if (e.elapsedSeconds != null) this.elapsedAt = { seconds: e.elapsedSeconds, at: Date.now() };
      }),
      client.on('run.metrics', (e) => {
        if (e.runId !== id) return;
        const next = [...this.series];
        for (const p of e.points) {
          let s = next.find((x) => x.key === p.key);
          if (!s) next.push((s = { key: p.key, points: [] }));
          // One point per step: a resumed run retrains the steps after its checkpoint.
          const last = s.points[s.points.length - 1];
          if (last == null || last.step < p.step) s.points = [...s.points, { step: p.step, value: p.value }];
          else s.points = [...s.points.filter((q) => q.step !== p.step), { step: p.step, value: p.value }].sort((a, b) => a.step - b.step);
        }
        this.series = next;
      }),
      client.on('run.status', (e) => e.runId === id && void this.load()),
      client.on('run.result', (e) => e.runId === id && void this.load()),
    );
    this.timer = setInterval(() => {
      if (this.active) this.now = Date.now();
    }, 1000);
    void this.load(true);
  }

  async load(withMetrics = false): Promise<void> {
    try {
      const [run, series] = await Promise.all([
        client.call('runs.get', { id: this.id }),
        withMetrics || !this.active ? client.call('runs.metrics', { id: this.id, maxPoints: 2000 }) : Promise.resolve(null),
      ]);
      if (run.kind !== 'train') throw new Error(`Run ${this.id} is a ${run.kind} run, not a train run: open it from the Runs page.`);
      this.run = run;
      if (series) this.series = series;
      const stored = (run.result as RunResultView | null)?.phases;
      if (run.phases) this.phases = run.phases;
      else if (stored && (this.phases.length === 0 || !this.active)) this.phases = stored;
      if (run.elapsed_seconds != null) this.elapsedAt = { seconds: run.elapsed_seconds, at: Date.now() };
      this.error = null;
    } catch (e) {
      this.error = (e as Error).message;
    } finally {
      this.loaded = true;
    }
  }

  async cancel(): Promise<void> {
    try {
      await client.call('runs.cancel', { id: this.id });
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  async resume(): Promise<void> {
    this.error = null;
    try {
      await client.call('training.resume', { id: this.id });
      this.phases = [];
      await this.load();
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  pointsOf(key: string): Array<{ step: number; value: number }> {
    return this.series.find((s) => s.key === key)?.points ?? [];
  }

  dispose(): void {
    for (const f of this.off) f();
    this.off = [];
    if (this.timer) clearInterval(this.timer);
  }
}
