import { describeIssues, type FieldIssue } from '../../../src-shared/domain/field-errors';
import { PERCEPTRON_FIELDS } from '../../../src-shared/domain/form-fields';
import { PERCEPTRON_DOCS } from '../../../src-shared/domain/parameter-docs';
import { PerceptronConfig, PerceptronStrategy, type PerceptronPoint } from '../../../src-shared/domain/perceptron';
import type { RunDetail } from '../../../src-shared/domain/runs';
import { client } from '../api/client';

/** The form starts from the schema's defaults, so the UI and the CLI agree. */
const DEFAULTS = PerceptronConfig.parse({});

/** A number when the text is one; otherwise the text, so the error can quote what was typed. */
const num = (t: string): number | string => (t.trim() !== '' && Number.isFinite(Number(t)) ? Number(t) : t.trim());
const list = (s: string): Array<number | string> =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)
    .map(num);

/** One checkbox per strategy, on where `on` says so. */
const strategyFlags = (on: (k: PerceptronStrategy) => boolean): Record<PerceptronStrategy, boolean> =>
  Object.fromEntries(PerceptronStrategy.options.map((k) => [k, on(k)])) as Record<PerceptronStrategy, boolean>;

export interface PerceptronResultView {
  points: PerceptronPoint[];
  tasks_done: number;
  tasks_total: number;
  seconds: number;
}

/** The perceptron page: the form, the run being shown, and its live progress. */
export class PerceptronState {
  // Text as typed (numbers too), so a problem can quote it; the schema's defaults to start.
  k = $state(String(DEFAULTS.k));
  eps = $state(String(DEFAULTS.eps));
  alphas = $state(DEFAULTS.alphas.join(', '));
  ratios = $state(DEFAULTS.ratios.join(', '));
  /** The strategies the schema knows, in its order (the form's checkboxes). */
  readonly strategyNames = PerceptronStrategy.options;
  strategies = $state(strategyFlags(() => true));
  seeds = $state(String(DEFAULTS.seeds));
  filterBelowEps = $state(DEFAULTS.filterBelowEps);
  maxSteps = $state(String(DEFAULTS.maxSteps));
  tol = $state(String(DEFAULTS.tol));
  /** Problems of the form, each shown at its field. */
  issues = $state<FieldIssue[]>([]);

  run = $state<RunDetail | null>(null);
  error = $state<string | null>(null);
  starting = $state(false);

  result = $derived((this.run?.result as PerceptronResultView | null) ?? null);

  private readonly offs: Array<() => void>;

  constructor() {
    const reload = (e: { runId: number }): void => {
      if (this.run && e.runId === this.run.id) void this.open(e.runId);
    };
    this.offs = [
      client.on('run.progress', (e) => {
        if (this.run && e.runId === this.run.id) {
          this.run.progress = e.progress;
          this.run.progress_text = e.text;
          this.run.eta_seconds = e.etaSeconds;
        }
      }),
      client.on('run.result', reload),
      client.on('run.status', reload),
    ];
  }

  /** Releases the event subscriptions (the owning page calls it when it goes). */
  dispose(): void {
    for (const off of this.offs) off();
  }

  config() {
    return {
      k: num(this.k),
      eps: num(this.eps),
      alphas: list(this.alphas),
      ratios: list(this.ratios),
      strategies: (Object.keys(this.strategies) as PerceptronStrategy[]).filter((s) => this.strategies[s]),
      seeds: num(this.seeds),
      filterBelowEps: this.filterBelowEps,
      maxSteps: num(this.maxSteps),
      tol: num(this.tol),
    };
  }

  issuesAt(key: string): FieldIssue[] {
    return this.issues.filter((i) => i.key === key);
  }

  async start(): Promise<void> {
    this.error = null;
    const raw = this.config();
    const parsed = PerceptronConfig.safeParse(raw);
    this.issues = parsed.success ? [] : describeIssues(parsed.error.issues, raw, PERCEPTRON_DOCS, PERCEPTRON_FIELDS);
    if (!parsed.success) return;
    this.starting = true;
    try {
      const { runId } = await client.call('perceptron.start', { config: parsed.data });
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
      const c = run.config as PerceptronConfig;
      if (c && typeof c === 'object' && Array.isArray(c.alphas)) {
        this.k = String(c.k);
        this.eps = String(c.eps);
        this.alphas = c.alphas.join(', ');
        this.ratios = c.ratios.join(', ');
        this.strategies = strategyFlags((k) => c.strategies.includes(k));
        this.seeds = String(c.seeds);
        this.filterBelowEps = c.filterBelowEps;
        this.maxSteps = String(c.maxSteps);
        this.tol = String(c.tol);
        this.issues = [];
      }
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  async cancel(): Promise<void> {
    if (this.run) await client.call('runs.cancel', { id: this.run.id });
  }
}
