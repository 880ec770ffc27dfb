import { z } from 'zod';
import type { MetricSeries, RunStatus, RunSummary } from '../../domain/runs';
import { RunKind } from '../../domain/runs';
import type { ConfigDiff } from '../../method/config-diff';
import type { GroupedTable } from '../../method/table';
import { empty, Id, res } from './common';

/** A named starting configuration (resources/presets/<name>.json). */
export interface PresetInfo {
  name: string;
  kind: RunKind;
  description: string;
  config: Record<string, unknown>;
}

/** One problem of one planned run's config: a dotted path and the schema's message. */
export interface ConfigProblem {
  path: string;
  message: string;
  /** Indices of the planned runs that have it. */
  runs: number[];
}

export interface SweepPlan {
  count: number;
  configs: Array<Record<string, unknown>>;
  problems: ConfigProblem[];
}

export interface ExperimentSummary {
  id: number;
  name: string;
  kind: string;
  description: string;
  created_at: string;
  run_count: number;
  statuses: Record<string, number>;
}

/** A run as the runs view shows it: the summary plus config, notes, queue slot and best metrics. */
export interface RunTableRow extends RunSummary {
  config: Record<string, unknown>;
  notes: string;
  /** Place in the queue (1-based) while queued, else null. */
  queue_index: number | null;
  /** Best value per metric over all steps (max; min for losses and errors). */
  best: Record<string, number>;
}

export interface CompareData {
  runs: RunTableRow[];
  /** Every config key; `differs` marks the changed ones (the view filters for "only changed"). */
  diff: ConfigDiff;
  /** The grouped table with the default choice: group by the changed keys but seed, the paper's metrics. */
  table: GroupedTable | null;
  /** Per run, its (down-sampled) metric series. */
  series: Array<{ runId: number; series: MetricSeries[] }>;
}

export interface ExportedText {
  text: string;
  fileName: string;
  mime: string;
}

export interface QueueState {
  order: number[];
  running: number[];
  concurrency: number;
}

const ConfigObject = z.record(z.string(), z.unknown());
const Grid = z.record(z.string().min(1).max(200), z.array(z.unknown()).min(1).max(1000));
const KeyList = z.array(z.string().min(1).max(200)).max(50);
const RunIds = z.array(Id).min(1).max(5000);
/** Which runs an export or a table covers: a list, or every run of an experiment. */
const Selection = { runIds: RunIds.optional(), experimentId: Id.optional() };
export const TableFormat = z.enum(['csv', 'md', 'latex', 'json']);

const SweepRequest = z
  .object({
    kind: RunKind,
    base: ConfigObject,
    /** Config key → the values to sweep; the cartesian product becomes the runs. */
    grid: Grid.default({}),
    /** Keys set together (a template's PE+PD sets two ratios); each arm × the grid. Absent = one arm. */
    arms: z.array(ConfigObject).min(1).max(100).optional(),
  })
  .strict();

/** The experiment manager: sweeps, the queue, the runs view, compare and export. */
export const experimentOperations = {
  'experiments.presets': { request: empty, response: res<PresetInfo[]>() },
  /** Expands and validates a sweep without creating anything (the form's live check). */
  'experiments.plan': { request: SweepRequest, response: res<SweepPlan>() },
  'experiments.create': {
    request: SweepRequest.extend({
      name: z.string().min(1).max(200),
      description: z.string().max(5000).optional(),
      tags: z.string().max(1000).optional(),
    }).strict(),
    response: res<{ experimentId: number; runIds: number[] }>(),
  },
  'experiments.list': { request: empty, response: res<ExperimentSummary[]>() },
  'experiments.get': {
    request: z.object({ id: Id }).strict(),
    response: res<ExperimentSummary & { config: unknown; runIds: number[] }>(),
  },
  'runs.table': {
    request: z
      .object({
        experimentId: Id.optional(),
        kind: RunKind.optional(),
        /** Matches id, name, kind, status, tags and notes (case-insensitive; all words must match). */
        text: z.string().max(500).optional(),
        /** Config filters: dotted key → wanted value (compared as text, e.g. {"strategy": "puma"}). */
        where: z.record(z.string().min(1).max(200), z.string().max(500)).optional(),
        limit: z.number().int().min(1).max(100_000).optional(),
      })
      .strict(),
    response: res<RunTableRow[]>(),
  },
  'runs.update': {
    request: z
      .object({ id: Id, tags: z.string().max(1000).optional(), notes: z.string().max(20_000).optional(), name: z.string().max(200).optional() })
      .strict(),
    response: res<RunTableRow>(),
  },
  'runs.retry': { request: z.object({ id: Id }).strict(), response: res<{ id: number; status: RunStatus }>() },
  'queue.get': { request: empty, response: res<QueueState>() },
  'queue.reorder': { request: z.object({ order: z.array(Id).max(100_000) }).strict(), response: res<QueueState>() },
  'queue.move': { request: z.object({ id: Id, delta: z.number().int().min(-100_000).max(100_000) }).strict(), response: res<QueueState>() },
  'queue.settings': {
    request: z.object({ concurrency: z.number().int().min(1).max(64).optional() }).strict(),
    response: res<QueueState>(),
  },
  'compare.data': {
    request: z
      .object({
        runIds: RunIds.max(200),
        keys: KeyList.optional(),
        maxPoints: z.number().int().min(2).max(10_000).optional(),
        onlyChanged: z.boolean().optional(),
      })
      .strict(),
    response: res<CompareData>(),
  },
  'compare.table': {
    request: z.object({ ...Selection, groupBy: KeyList, metrics: KeyList.min(1), statuses: z.array(z.string()).optional() }).strict(),
    response: res<GroupedTable>(),
  },
  'export.table': {
    request: z
      .object({
        ...Selection,
        groupBy: KeyList,
        metrics: KeyList.min(1),
        format: TableFormat,
        statuses: z.array(z.string()).optional(),
        digits: z.number().int().min(0).max(12).optional(),
        caption: z.string().max(2000).optional(),
        label: z.string().max(200).optional(),
      })
      .strict(),
    response: res<ExportedText>(),
  },
  'export.metrics': {
    request: z.object({ ...Selection, format: z.enum(['csv', 'json']) }).strict(),
    response: res<ExportedText>(),
  },
} as const;
