import { PerceptronConfig, type PerceptronPoint } from '../../../src-shared/domain/perceptron';
import { aggregatePerceptron, perceptronTasks, runPerceptronTask, type PerceptronTask, type PerceptronTaskResult } from '../../../src-shared/method/perceptron';
import type { JobHandler } from '../context';

export interface PerceptronRunResult {
  points: PerceptronPoint[];
  tasks_done: number;
  tasks_total: number;
  seconds: number;
}

/** Metric key of one figure line; the step is the α's index in the config's α list. */
export const perceptronMetricKey = (p: { strategy: string; ratio: number; filter: boolean }, what: string): string =>
  `${what}/${p.strategy}/${p.ratio}${p.filter ? '/filtered' : ''}`;

/**
 * The perceptron study as a job: tasks run point by point (all seeds of a point together), so
 * each finished point is published at once and the figure fills in while the job runs.
 */
export const perceptronJob: JobHandler = async (ctx, rawConfig) => {
  const config = PerceptronConfig.parse(rawConfig);
  ctx.environment('js', 'cpu (pure TypeScript, Float64)');
  const started = Date.now();
  const tasks = perceptronTasks(config);
  const order = new Map<string, PerceptronTask[]>();
  for (const t of tasks) {
    const key = `${t.alpha}|${t.strategy}|${t.ratio}`;
    if (!order.has(key)) order.set(key, []);
    order.get(key)!.push(t);
  }
  const done: Array<{ task: PerceptronTask; result: PerceptronTaskResult }> = [];
  ctx.progress(0, `0 / ${tasks.length} students trained`, true);
  for (const group of order.values()) {
    for (const task of group) {
      ctx.throwIfCancelled();
      done.push({ task, result: runPerceptronTask(config, task) });
      ctx.progress(done.length / tasks.length, `${done.length} / ${tasks.length} students trained`);
      // Yield so a cancel message can arrive between tasks.
      await new Promise((r) => setImmediate(r));
    }
    const points = aggregatePerceptron(config, done);
    const fresh = points.filter((p) => p.alpha === group[0].alpha && p.strategy === group[0].strategy && p.ratio === group[0].ratio);
    ctx.metrics(
      fresh.flatMap((p) => {
        const step = config.alphas.indexOf(p.alpha);
        return [
          { key: perceptronMetricKey(p, 'error_mean'), step, value: p.error_mean },
          { key: perceptronMetricKey(p, 'error_std'), step, value: p.error_std },
          { key: perceptronMetricKey(p, 'one_minus_r_mean'), step, value: p.one_minus_r_mean },
        ];
      }),
    );
    const partial: PerceptronRunResult = {
      points,
      tasks_done: done.length,
      tasks_total: tasks.length,
      seconds: (Date.now() - started) / 1000,
    };
    ctx.result(partial, done.length === tasks.length);
  }
  ctx.progress(1, `${tasks.length} / ${tasks.length} students trained`, true);
};
