/** Small helpers shared by the CLI's subcommands. */
import type { Events } from '../../src-shared/api/contract';
import { phaseLabel } from '../../src-shared/domain/phases';
import { formatDuration } from '../../src-shared/domain/duration';

export class CliError extends Error {}

export function parseNumberList(flag: string, raw: string | undefined, fallback: number[]): number[] {
  if (raw === undefined) return fallback;
  const out = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  if (out.length === 0 || out.some((x) => !Number.isFinite(x))) throw new CliError(`--${flag} expects numbers separated by commas, got '${raw}'.`);
  return out;
}

export function parseNumber(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const x = Number(raw);
  if (!Number.isFinite(x)) throw new CliError(`--${flag} expects a number, got '${raw}'.`);
  return x;
}

/** The parts of PumaApp the progress printer needs. */
interface EventSource {
  onEvent(listener: (m: { name: string; payload: unknown }) => void): () => void;
}

/**
 * Prints a run's progress on stderr (stdout stays for the JSON result): one updating line on a
 * terminal, one line per update elsewhere.
 */
export function printRunProgress(app: EventSource, runId: number): () => void {
  const tty = process.stderr.isTTY;
  return app.onEvent((m) => {
    if (m.name !== 'run.progress') return;
    const p = m.payload as Events['run.progress'];
    if (p.runId !== runId) return;
    // A train run: the phase, its own share done and its own ETA (the overall % mixes phases of different speeds).
    const ph = p.phase ? p.phases?.find((x) => x.id === p.phase) : undefined;
    const where = ph
      ? `[${phaseLabel(ph.id)} ${Math.round(ph.fraction * 100)}%${ph.status === 'running' ? (ph.eta_seconds == null ? ', estimating' : `, ${formatDuration(ph.eta_seconds)} left`) : ''}] `
      : '';
    process.stderr.write(`${tty ? '\r' : ''}${Math.round(p.progress * 100)}% ${where}${p.text}${tty ? '   ' : '\n'}`);
  });
}
