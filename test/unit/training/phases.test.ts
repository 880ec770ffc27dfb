/**
 * Per-phase ETAs on synthetic timelines: each phase's ETA comes from its own rate, so a slow
 * first phase (a margin model) does not inflate the next one's, and phases that alternate
 * (training, evaluation) keep separate clocks.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { JobContext } from '../../../src-main/jobs/context';
import type { FromJob } from '../../../src-main/jobs/protocol';
import { etaOf, PhaseTracker } from '../../../src-shared/domain/phases';

const S = 1000; // ms per second

describe('etaOf', () => {
  it('is null before enough time and progress, then (time / done) × left', () => {
    expect(etaOf(0.5, 1)).toBeNull(); // too little time
    expect(etaOf(0.001, 100)).toBeNull(); // too little progress
    expect(etaOf(0.25, 10)).toBeCloseTo(30);
    expect(etaOf(1, 10)).toBe(0);
    // A resumed phase: 10 s took it from 0.5 to 0.75, so 0.25 left takes 10 s more.
    expect(etaOf(0.75, 10, 0.5)).toBeCloseTo(10);
  });
});

describe('PhaseTracker', () => {
  it('a slow first phase does not inflate the second phase’s ETA', () => {
    const t = new PhaseTracker(['margin_model', 'margins', 'training', 'evaluation'], 0);
    // Margin model: 300 s for its whole work (1 % per 3 s).
    for (let s = 0; s <= 300; s += 3) t.report('margin_model', s / 300, s * S);
    expect(t.snapshot(300 * S).find((p) => p.id === 'margin_model')!.status).toBe('done');
    // Margins: fast, 10 s in all.
    for (let s = 0; s <= 10; s++) t.report('margins', s / 10, (300 + s) * S);
    // Training: 1 % per second → 100 s in all. After 20 s the ETA is 80 s, whatever came before.
    for (let s = 0; s <= 20; s++) t.report('training', s / 100, (310 + s) * S);
    const training = t.snapshot(330 * S).find((p) => p.id === 'training')!;
    expect(training.seconds).toBeCloseTo(20);
    expect(training.eta_seconds).toBeCloseTo(80, 0);
    // An overall extrapolation (elapsed × left / done) would say far more: the bug this replaces.
    const overall = 0.3 + 0.7 * 0.2;
    expect((330 * (1 - overall)) / overall).toBeGreaterThan(400);
    expect(t.remaining(330 * S)).toBeCloseTo(80, 0);
  });

  it('counts the time up to a phase’s first report as that phase’s (a finished phase takes no more)', () => {
    const t = new PhaseTracker(['margin_model', 'margins'], 0);
    t.report('margin_model', 0.5, 10 * S);
    t.report('margin_model', 1, 20 * S);
    // All margins come in one chunk: the first report of the phase is its last.
    t.report('margins', 1, 32 * S);
    const [model, margins] = t.snapshot(40 * S);
    expect(model!.seconds).toBeCloseTo(10);
    expect(margins!.seconds).toBeCloseTo(12);
    expect(margins!.status).toBe('done');
  });

  it('says "estimating" (null) for the first seconds of a phase', () => {
    const t = new PhaseTracker(['training'], 0);
    t.report('training', 0.05, 1 * S);
    expect(t.snapshot(1 * S)[0]!.eta_seconds).toBeNull();
    expect(t.remaining(1 * S)).toBeNull();
    t.report('training', 0.2, 4 * S);
    expect(t.snapshot(4 * S)[0]!.eta_seconds).toBeCloseTo(16);
  });

  it('training and evaluation alternate without charging each other’s time', () => {
    const t = new PhaseTracker(['training', 'evaluation'], 0);
    // Two epochs of 50 s each, an evaluation of 30 s after each.
    t.report('training', 0, 0);
    t.report('training', 0.5, 50 * S);
    t.report('evaluation', 0, 50 * S);
    t.report('evaluation', 0.5, 80 * S);
    t.report('training', 0.5, 80 * S);
    t.report('training', 0.75, 105 * S);
    const [training, evaluation] = t.snapshot(105 * S);
    expect(training!.seconds).toBeCloseTo(75);
    expect(training!.eta_seconds).toBeCloseTo(25);
    expect(evaluation!.seconds).toBeCloseTo(30);
    expect(evaluation!.eta_seconds).toBeCloseTo(30);
    expect(evaluation!.status).toBe('running');
    expect(t.remaining(105 * S)).toBeCloseTo(55);
  });

  it('the set-up before a phase’s first report counts in its time, not in its rate', () => {
    const t = new PhaseTracker(['margins', 'training'], 0);
    t.report('margins', 1, 5 * S);
    // 20 s of set-up (pool, worker processes), then 1 % of training per second.
    t.report('training', 0.01, 25 * S);
    t.report('training', 0.11, 35 * S);
    const training = t.snapshot(35 * S).find((p) => p.id === 'training')!;
    expect(training.seconds).toBeCloseTo(30);
    expect(training.eta_seconds).toBeCloseTo(89, 0);
  });

  it('a resumed phase rates only the progress made since it resumed', () => {
    const t = new PhaseTracker(['training'], 0);
    t.report('training', 0.6, 0);
    t.report('training', 0.7, 10 * S);
    expect(t.snapshot(10 * S)[0]!.eta_seconds).toBeCloseTo(30);
  });

  it('skips planned phases that will not run and keeps the walking order', () => {
    const t = new PhaseTracker(['training', 'margins', 'margin_model'], 0);
    t.skip('margin_model', 'margins found in the cache');
    t.skip('margins', 'margins found in the cache');
    t.report('evaluation', 0.5, 1 * S);
    const snap = t.snapshot(2 * S);
    expect(snap.map((p) => p.id)).toEqual(['margin_model', 'margins', 'training', 'evaluation']);
    expect(snap.map((p) => p.status)).toEqual(['skipped', 'skipped', 'pending', 'running']);
    expect(snap[0]!.text).toBe('margins found in the cache');
  });
});

describe('JobContext.phase', () => {
  afterEach(() => vi.useRealTimers());

  it('sends every change of phase at once, throttles the rest, and carries each phase with its own ETA', () => {
    vi.useFakeTimers({ now: 0 });
    const sent: Array<Extract<FromJob, { type: 'progress' }>> = [];
    const ctx = new JobContext(1, 'db', 'data', (m) => m.type === 'progress' && sent.push(m));
    ctx.planPhases(['margin_model', 'margins', 'training', 'evaluation']);
    ctx.phase('margin_model', 0.1, 0.01, 'margin model');
    vi.setSystemTime(10_000);
    ctx.phase('margin_model', 1, 0.15, 'margin model');
    vi.setSystemTime(10_010);
    ctx.phase('margins', 0.5, 0.2, 'margins'); // 10 ms later, but a new phase: sent
    ctx.phase('margins', 0.6, 0.21, 'margins'); // same phase within 100 ms: dropped
    expect(sent.map((m) => m.phase)).toEqual(['margin_model', 'margin_model', 'margins']);
    const last = sent[sent.length - 1]!;
    expect(last.phases!.map((p) => [p.id, p.status])).toEqual([
      ['margin_model', 'done'],
      ['margins', 'running'],
      ['training', 'pending'],
      ['evaluation', 'pending'],
    ]);
    expect(last.phases![0]!.seconds).toBeCloseTo(10);
    expect(last.elapsedSeconds).toBeCloseTo(10.01);
    // The margins phase has run 10 ms: too soon for an ETA of its own, so the run's is unknown too.
    expect(last.etaSeconds).toBeNull();
    ctx.skipPhase('evaluation', 'not needed');
    expect(ctx.phaseSnapshot().find((p) => p.id === 'evaluation')!.status).toBe('skipped');
  });
});
