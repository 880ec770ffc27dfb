import { PerceptronConfig, type PerceptronPoint, type PerceptronStrategy } from '../../../src-shared/domain/perceptron';

/** The form starts from the schema's defaults, so the UI and the CLI agree. */
const DEFAULTS = PerceptronConfig.parse({});
import type { RunDetail } from '../../../src-shared/domain/runs';
import { client } from '../api/client';

const parseList = (s: string): number[] =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)
    .map(Number);

export interface PerceptronResultView {
  points: PerceptronPoint[];
  tasks_done: number;
  tasks_total: number;
  seconds: number;
}

/** The perceptron page: the form, the run being shown, and its live progress. */
export class PerceptronState {
  k = $state(200);
  eps = $state(0);
  alphas = $state('0.5, 1, 2, 4, 8');
  ratios = $state('0, 0.5, 0.8');
  strategies = $state<Record<PerceptronStrategy, boolean>>({ none: true, pe: true, pd: true });
  seeds = $state(3);
  filterBelowEps = $state(false);
  maxSteps = $state(DEFAULTS.maxSteps);
  tol = $state(DEFAULTS.tol);

  run = $state<RunDetail | null>(null);
  error = $state<string | null>(null);
  starting = $state(false);

  result = $derived((this.run?.result as PerceptronResultView | null) ?? null);

  constructor() {
    const reload = (e: { runId: number }): void => {
      if (this.run && e.runId === this.run.id) void this.open(e.runId);
    };
    client.on('run.progress', (e) => {
      if (this.run && e.runId === this.run.id) {
        this.run.progress = e.progress;
        this.run.progress_text = e.text;
        this.run.eta_seconds = e.etaSeconds;
      }
    });
    client.on('run.result', reload);
    client.on('run.status', reload);
  }

  config() {
    return {
      k: Number(this.k),
      eps: Number(this.eps),
      alphas: parseList(this.alphas),
      ratios: parseList(this.ratios),
      strategies: (Object.keys(this.strategies) as PerceptronStrategy[]).filter((s) => this.strategies[s]),
      seeds: Number(this.seeds),
      filterBelowEps: this.filterBelowEps,
      maxSteps: Number(this.maxSteps),
      tol: Number(this.tol),
    };
  }

  async start(): Promise<void> {
    this.error = null;
    this.starting = true;
    try {
      const { runId } = await client.call('perceptron.start', { config: this.config() });
      await this.open(runId);
    } catch (e) {
      this.error = (e as Error).message;
    } finally {
      this.starting = false;
    }
  }

  async open(id: number): Promise<void> {
    try {
      const run = await client.call('runs.get', { id });
      this.run = run;
      // Show the configuration the run was made with.
      const c = run.config as ReturnType<PerceptronState['config']>;
      if (c && typeof c === 'object' && Array.isArray(c.alphas)) {
        this.k = c.k;
        this.eps = c.eps;
        this.alphas = c.alphas.join(', ');
        this.ratios = c.ratios.join(', ');
        this.strategies = { none: c.strategies.includes('none'), pe: c.strategies.includes('pe'), pd: c.strategies.includes('pd') };
        this.seeds = c.seeds;
        this.filterBelowEps = c.filterBelowEps;
        this.maxSteps = c.maxSteps;
        this.tol = c.tol;
      }
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  async cancel(): Promise<void> {
    if (this.run) await client.call('runs.cancel', { id: this.run.id });
  }
}
