/**
 * The phases of a train run and their progress. A run's overall fraction mixes phases of very
 * different speeds (a margin model, then margins, then training interleaved with evaluations),
 * so one ETA extrapolated over the whole run misleads: each phase gets its own fraction, its own
 * active time and an ETA from its own rate.
 */

/** Every phase a job may report, in the order a train run walks them (the one list of names). */
export const PHASES = [
  { id: 'margin_model', label: 'Margin model' },
  { id: 'cd_recording', label: 'CD recording' },
  { id: 'margins', label: 'Margins' },
  { id: 'training', label: 'Training' },
  { id: 'evaluation', label: 'Evaluation' },
] as const;
export type PhaseId = (typeof PHASES)[number]['id'];
export const PHASE_IDS: readonly PhaseId[] = PHASES.map((p) => p.id);
export const phaseLabel = (id: PhaseId): string => PHASES.find((p) => p.id === id)?.label ?? id;

export type PhaseStatus = 'pending' | 'running' | 'done' | 'skipped';

export interface PhaseProgress {
  id: PhaseId;
  status: PhaseStatus;
  /** Share of this phase done, in [0, 1]. */
  fraction: number;
  /** Seconds spent in this phase so far (only while it was the current phase). */
  seconds: number;
  /** Seconds left at this phase's own rate; null while there is too little data ("estimating…"). */
  eta_seconds: number | null;
  /** Last words about the phase (e.g. "epoch 2/4 · step 80/128"), or why it was skipped. */
  text: string;
  /** Throughput while in this phase (training: img/s, margins: samples/s), when known. */
  rate: number | null;
}

/** How much of a phase must be behind it before its rate is trusted. */
export const ETA_MIN_SECONDS = 3;
export const ETA_MIN_FRACTION = 0.01;

/**
 * Tracks the phases of one job from (phase, fraction, time) reports. Time is credited to the
 * phase that was current since the previous report, so a slow phase never slows another
 * phase's rate, and phases that alternate (training, evaluation) each keep their own clock.
 * `now` is in milliseconds (Date.now() in a job, synthetic in tests).
 */
export class PhaseTracker {
  private phases: PhaseProgress[];
  private current: PhaseId | null = null;
  /**
   * Each phase's fraction and seconds at its first report here: its rate counts only what came
   * after (a resumed run's earlier progress, and the set-up before its first batch, are not in it).
   */
  private base = new Map<PhaseId, { fraction: number; seconds: number }>();
  private lastAt: number;
  readonly startedAt: number;

  constructor(planned: readonly PhaseId[], now: number) {
    this.phases = PHASE_IDS.filter((id) => planned.includes(id)).map((id) => ({
      id,
      status: 'pending',
      fraction: 0,
      seconds: 0,
      eta_seconds: null,
      text: '',
      rate: null,
    }));
    this.startedAt = now;
    this.lastAt = now;
  }

  private find(id: PhaseId): PhaseProgress {
    let p = this.phases.find((x) => x.id === id);
    if (!p) {
      // A phase nobody planned (e.g. a resumed run's helper): add it in walking order.
      p = { id, status: 'pending', fraction: 0, seconds: 0, eta_seconds: null, text: '', rate: null };
      this.phases.push(p);
      this.phases.sort((a, b) => PHASE_IDS.indexOf(a.id) - PHASE_IDS.indexOf(b.id));
    }
    return p;
  }

  /**
   * `id` is now the current phase, `fraction` of it done. A report comes after a piece of work
   * (a batch, a chunk), so the time since the previous report is this phase's, whichever phase
   * reported before; the time before the very first report (setting up) is nobody's.
   */
  report(id: PhaseId, fraction: number, now: number, text = '', rate: number | null = null): void {
    const p = this.find(id);
    if (this.current !== null) p.seconds += Math.max(0, now - this.lastAt) / 1000;
    this.lastAt = now;
    this.current = id;
    // Another phase that was running is paused (training between evaluations), not done.
    p.status = fraction >= 1 ? 'done' : 'running';
    p.fraction = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
    if (text) p.text = text;
    if (rate != null && Number.isFinite(rate)) p.rate = rate;
    if (!this.base.has(id)) this.base.set(id, { fraction: p.fraction, seconds: p.seconds });
    p.eta_seconds = this.etaOf(p);
  }

  /** Marks a phase finished (fraction 1, no time left). */
  finish(id: PhaseId, now: number, text = ''): void {
    this.report(id, 1, now, text);
  }

  /** A planned phase that will not run (scores found in the cache, a given margin set). */
  skip(id: PhaseId, text: string): void {
    const p = this.find(id);
    if (p.status === 'running' || p.status === 'done') return;
    p.status = 'skipped';
    p.text = text;
    p.eta_seconds = 0;
  }

  /** The phases as they stand (copies), the current one's clock running on to `now`. */
  snapshot(now: number): PhaseProgress[] {
    return this.phases.map((p) => {
      const live = { ...p };
      if (p.id === this.current && p.status === 'running') live.seconds += Math.max(0, now - this.lastAt) / 1000;
      live.eta_seconds = p.status === 'running' ? this.etaOf(live) : p.status === 'pending' ? null : 0;
      return live;
    });
  }

  private etaOf(p: PhaseProgress): number | null {
    const b = this.base.get(p.id) ?? { fraction: 0, seconds: 0 };
    return etaOf(p.fraction, p.seconds - b.seconds, b.fraction);
  }

  get currentPhase(): PhaseId | null {
    return this.current;
  }

  /**
   * Time left for the phases already started and not done (each at its own rate); null while
   * any of them is still estimating. Phases not started yet have no honest estimate.
   */
  remaining(now: number): number | null {
    let total = 0;
    for (const p of this.snapshot(now)) {
      if (p.status !== 'running') continue;
      if (p.eta_seconds == null) return null;
      total += p.eta_seconds;
    }
    return total;
  }
}

/**
 * Seconds left in a phase at its own rate: `seconds` spent to go from `from` to `fraction`.
 * Null before ETA_MIN_SECONDS of time and ETA_MIN_FRACTION of progress.
 */
export function etaOf(fraction: number, seconds: number, from = 0): number | null {
  if (fraction >= 1) return 0;
  const done = fraction - from;
  if (seconds < ETA_MIN_SECONDS || done < ETA_MIN_FRACTION) return null;
  return (seconds * (1 - fraction)) / done;
}
