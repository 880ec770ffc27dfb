/**
 * The one table of metric names (src-shared/domain/metrics.ts): every key a job writes is
 * listed, names resolve by stored key and by bare name, accuracies are percent everywhere.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  compareMetricKeys,
  formatMetric,
  metricDisplayValue,
  metricHeader,
  metricInfo,
  metricLabel,
  METRICS,
  TABLE_METRICS,
} from '../../../src-shared/domain/metrics';

/** The literal keys a source file writes as metric points (`{ key: '…', step, value }`). */
function writtenKeys(file: string): string[] {
  const text = readFileSync(new URL(`../../../${file}`, import.meta.url), 'utf8');
  return [...text.matchAll(/\{\s*key:\s*'([^']+)',\s*step/g)].map((m) => m[1]!);
}

describe('metric names', () => {
  it('lists every key the training and margins jobs write', () => {
    const keys = [...writtenKeys('src-main/services/training/run.ts'), ...writtenKeys('src-main/jobs/margins/job.ts')];
    expect(keys).toContain('test/clean_acc');
    expect(keys).toContain('train/batch_loss');
    expect(keys.length).toBeGreaterThanOrEqual(10);
    const unlisted = keys.filter((k) => !metricInfo(k).known);
    expect(unlisted).toEqual([]);
    expect(METRICS.map((m) => m.key).sort()).toEqual([...new Set(keys)].sort());
  });

  it("has one label per metric, and the paper's three numbers as the table metrics", () => {
    const labels = METRICS.map((m) => m.label);
    expect(new Set(labels).size).toBe(labels.length);
    expect(TABLE_METRICS).toEqual(['clean_acc', 'robust_acc_pgd', 'robust_acc_cw']);
    // A curve-only series is never offered for a table.
    expect(metricInfo('lr').table).toBe(false);
    expect(metricInfo('train/batch_loss').table).toBe(false);
  });

  it('resolves a stored key and its bare name to the same entry', () => {
    expect(metricInfo('clean_acc')).toBe(metricInfo('test/clean_acc'));
    expect(metricInfo('batch_loss')).toBe(metricInfo('train/batch_loss'));
    expect(metricLabel('robust_acc_cw')).toBe('C&W robust accuracy');
    // The stored "lr" is the per-epoch rate, not train/lr's bare name.
    expect(metricInfo('lr').key).toBe('lr');
    expect(metricInfo('lr').curve).toBe(false);
  });

  it('knows the x axis of each curve', () => {
    expect(metricInfo('train/batch_loss').x).toBe('step');
    expect(metricInfo('test/robust_acc_pgd').x).toBe('epoch');
    expect(metricInfo('margins/samples_per_s').x).toBe('chunk');
    expect(metricInfo('error_mean/pe/0.5/filtered')).toMatchObject({
      x: 'alpha',
      curve: true,
      table: true,
      label: 'Error arccos(R)/π · pe, r = 0.5, filtered',
    });
    expect(metricInfo('error_std/pe/0.5')).toMatchObject({ curve: false, table: false, higherIsBetter: false });
  });

  it('shows accuracies (fractions) as percent, other values as they are', () => {
    expect(formatMetric('test/clean_acc', 0.87871)).toBe('87.87');
    expect(formatMetric('clean_acc', 0.5, { unit: true })).toBe('50.00 %');
    expect(formatMetric('train/batch_loss', 1.234567)).toBe('1.235');
    expect(formatMetric('train/img_per_s', 539.4, { unit: true })).toBe('539.4 img/s');
    expect(formatMetric('clean_acc', Number.NaN)).toBe('–');
    expect(formatMetric('clean_acc', undefined)).toBe('–');
    expect(metricDisplayValue('robust_acc_cw', 0.25)).toBe(25);
    expect(metricDisplayValue('train/loss', 0.25)).toBe(0.25);
    expect(metricHeader('clean_acc')).toBe('Clean accuracy (%)');
    expect(metricHeader('train/loss')).toBe('Training loss (epoch)');
  });

  it('guesses for unlisted keys from the name: accuracies percent, losses and errors lower-is-better', () => {
    expect(metricInfo('val/top1_acc')).toMatchObject({ known: false, percent: true, higherIsBetter: true, label: 'val/top1_acc' });
    expect(metricInfo('val_loss')).toMatchObject({ known: false, percent: false, higherIsBetter: false });
    expect(metricInfo('accelerator_temp').percent).toBe(false);
  });

  it('orders keys as listed, unknown ones last by name', () => {
    const keys = ['zeta', 'train/batch_loss', 'test/robust_acc_cw', 'alpha', 'test/clean_acc'];
    expect([...keys].sort(compareMetricKeys)).toEqual(['test/clean_acc', 'test/robust_acc_cw', 'train/batch_loss', 'alpha', 'zeta']);
  });
});
