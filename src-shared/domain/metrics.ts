/**
 * Every metric a job writes to the experiment log, in one place: the stored key, the bare name
 * that tables, `puma export --metrics` and `puma train --json` use, a label in words, the unit,
 * whether it is a results-table number or a curve, and its x axis. Accuracies are stored as
 * fractions in [0, 1] and shown as percent everywhere (charts, tables, exports); this file is
 * the only place that decides it. Pure: no Node or DOM imports.
 *
 * Writers: src-main/services/training/run.ts (train/*, test/*, lr), src-main/jobs/margins/
 * job.ts (margins/*), src-main/jobs/perceptron/job.ts (error_mean/… per study point).
 */

/** What a curve's x value counts. */
export type MetricAxis = 'step' | 'epoch' | 'chunk' | 'alpha';

export const AXIS_LABELS: Record<MetricAxis, string> = {
  step: 'step (batch)',
  epoch: 'epoch',
  chunk: 'chunk of samples',
  alpha: 'α (position in the study)',
};

export interface MetricInfo {
  /** The key as stored in the log's metrics table. */
  key: string;
  /** The key without its prefix: what tables, the CLI and `latest` use ("clean_acc"). */
  name: string;
  /** In words, for headers, legends and axis titles. */
  label: string;
  /** Shown after values and in headers; "%" for accuracies (stored as fractions). */
  unit: string;
  /** Stored as a fraction in [0, 1], shown × 100. */
  percent: boolean;
  /** A final number for results tables (Compare's picker, exports). */
  table: boolean;
  /** Drawn over `x` in Compare's curves. */
  curve: boolean;
  x: MetricAxis;
  higherIsBetter: boolean;
  /** One line for tooltips. */
  help: string;
  /** False for a key this file does not list (its entry is a guess from the name). */
  known: boolean;
}

type Entry = Omit<MetricInfo, 'name' | 'known' | 'unit'> & { unit?: string };

const ACC = { unit: '%', percent: true, higherIsBetter: true } as const;

/** The listed metrics, in the order Compare draws them. The three table metrics are the paper's numbers (§4). */
const ENTRIES: Entry[] = [
  {
    key: 'test/clean_acc',
    label: 'Clean accuracy',
    ...ACC,
    table: true,
    curve: true,
    x: 'epoch',
    help: 'Accuracy of the EMA model on the test set (eval_subset samples)',
  },
  {
    key: 'test/robust_acc_pgd',
    label: 'PGD robust accuracy',
    ...ACC,
    table: true,
    curve: true,
    x: 'epoch',
    help: 'Accuracy under an L∞ PGD attack of radius ε with the cross-entropy loss (eval_attack_steps steps)',
  },
  {
    key: 'test/robust_acc_cw',
    label: 'C&W robust accuracy',
    ...ACC,
    table: true,
    curve: true,
    x: 'epoch',
    help: "Accuracy under L∞ PGD with the Carlini–Wagner margin loss: the paper's robust accuracy",
  },
  {
    key: 'train/batch_loss',
    label: 'Training loss (batch)',
    percent: false,
    table: false,
    curve: true,
    x: 'step',
    higherIsBetter: false,
    help: 'Loss of one training batch on its adversarial examples, every log_every batches',
  },
  {
    key: 'train/loss',
    label: 'Training loss (epoch)',
    percent: false,
    table: false,
    curve: true,
    x: 'epoch',
    higherIsBetter: false,
    help: 'Mean training loss over the epoch',
  },
  { key: 'train/acc', label: 'Training accuracy', ...ACC, table: false, curve: true, x: 'epoch', help: 'Accuracy on the training batches over the epoch' },
  {
    key: 'train/lr',
    label: 'Learning rate',
    percent: false,
    table: false,
    curve: true,
    x: 'step',
    higherIsBetter: true,
    help: 'The learning rate of each logged batch (schedule)',
  },
  {
    key: 'train/img_per_s',
    label: 'Training speed',
    unit: 'img/s',
    percent: false,
    table: false,
    curve: true,
    x: 'epoch',
    higherIsBetter: true,
    help: 'Training images per second over the epoch',
  },
  {
    key: 'train/pruned_online',
    label: 'Pruned online',
    unit: 'samples',
    percent: false,
    table: false,
    curve: true,
    x: 'epoch',
    higherIsBetter: true,
    help: 'Samples Online PUMA removed this epoch',
  },
  // The same learning rate once per epoch: train/lr draws it per batch already.
  {
    key: 'lr',
    label: 'Learning rate (end of epoch)',
    percent: false,
    table: false,
    curve: false,
    x: 'epoch',
    higherIsBetter: true,
    help: 'The learning rate at the end of the epoch',
  },
  {
    key: 'margins/samples_per_s',
    label: 'Margin speed',
    unit: 'samples/s',
    percent: false,
    table: false,
    curve: true,
    x: 'chunk',
    higherIsBetter: true,
    help: 'Margins computed per second, per chunk',
  },
  {
    key: 'margins/grad_evals_per_sample',
    label: 'Gradient evaluations per sample',
    percent: false,
    table: false,
    curve: true,
    x: 'chunk',
    higherIsBetter: false,
    help: 'Gradients the margin method needed per sample, per chunk',
  },
];

const bareName = (key: string): string => key.slice(key.lastIndexOf('/') + 1);

export const METRICS: readonly MetricInfo[] = ENTRIES.map((e) => ({ ...e, unit: e.unit ?? (e.percent ? '%' : ''), name: bareName(e.key), known: true }));

const BY_KEY = new Map(METRICS.map((m) => [m.key, m]));
/** Bare names: the first entry wins ("lr" is the stored per-epoch key, as withBareNames keeps it). */
const BY_NAME = new Map<string, MetricInfo>();
for (const m of METRICS) if (!BY_KEY.has(m.name) && !BY_NAME.has(m.name)) BY_NAME.set(m.name, m);

/** The results-table metrics (bare names), in the paper's order: clean, PGD, C&W. */
export const TABLE_METRICS: readonly string[] = METRICS.filter((m) => m.table).map((m) => m.name);

/** The perceptron study's keys: `<what>/<strategy>/<ratio>[/filtered]`, one series over α per point. */
const PERCEPTRON = /^(error_mean|error_std|one_minus_r_mean)\/([^/]+)\/([^/]+)(\/filtered)?$/;
/** The study's numbers (error, 1 − R) are table metrics of perceptron runs; the std over seeds is not. */
const PERCEPTRON_WHAT: Record<string, { label: string; curve: boolean; table: boolean }> = {
  error_mean: { label: 'Error arccos(R)/π', curve: true, table: true },
  error_std: { label: 'Error std', curve: false, table: false },
  one_minus_r_mean: { label: '1 − R', curve: true, table: true },
};

/** Names that mean lower is better when a key is not listed (losses, errors, times). */
const LOWER_IS_BETTER = /loss|error|err$|_err_|time|seconds/i;

/** Everything known about a metric, by stored key or bare name; an unknown key gets a guess from its name. */
export function metricInfo(key: string): MetricInfo {
  const listed = BY_KEY.get(key) ?? BY_NAME.get(key);
  if (listed) return listed;
  const p = PERCEPTRON.exec(key);
  if (p) {
    const what = PERCEPTRON_WHAT[p[1]!]!;
    return {
      key,
      name: key,
      label: `${what.label} · ${p[2]}, r = ${p[3]}${p[4] ? ', filtered' : ''}`,
      unit: '',
      percent: false,
      table: what.table,
      curve: what.curve,
      x: 'alpha',
      higherIsBetter: false,
      help: 'Perceptron study: teacher–student error at each α',
      known: true,
    };
  }
  const name = bareName(key);
  const percent = /(^|_)acc($|_)/i.test(name);
  return {
    key,
    name,
    label: key,
    unit: percent ? '%' : '',
    percent,
    table: false,
    curve: true,
    x: 'step',
    higherIsBetter: !LOWER_IS_BETTER.test(key),
    help: '',
    known: false,
  };
}

/** "Clean accuracy"; the key itself when it is not listed. */
export const metricLabel = (key: string): string => metricInfo(key).label;

/** A column header or axis title: "Clean accuracy (%)", "Training speed (img/s)", "Training loss (epoch)". */
export function metricHeader(key: string): string {
  const m = metricInfo(key);
  return m.unit ? `${m.label} (${m.unit})` : m.label;
}

export const higherIsBetter = (key: string): boolean => metricInfo(key).higherIsBetter;

/** The value as shown: × 100 for accuracies. */
export function metricDisplayValue(key: string, value: number): number {
  return metricInfo(key).percent ? value * 100 : value;
}

/**
 * A value as text: accuracies as percent with 2 decimals ("87.87"), others with 4 significant
 * digits; "–" for a missing or non-finite value. `unit: true` appends the unit ("87.87 %").
 */
export function formatMetric(key: string, value: number | null | undefined, opts: { unit?: boolean } = {}): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  const m = metricInfo(key);
  const text = m.percent ? (value * 100).toFixed(2) : String(Number(value.toPrecision(4)));
  return opts.unit && m.unit ? `${text} ${m.unit}` : text;
}

/** Position of a key in the listed order (unknown keys last, then by name): Compare's chart order. */
export function compareMetricKeys(a: string, b: string): number {
  const rank = (k: string): number => {
    const m = metricInfo(k);
    const i = METRICS.indexOf(m);
    return i >= 0 ? i : METRICS.length;
  };
  return rank(a) - rank(b) || a.localeCompare(b);
}
