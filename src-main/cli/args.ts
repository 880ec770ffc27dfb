/** Small helpers shared by the CLI's subcommands. */
export class CliError extends Error {}

export function parseNumberList(flag: string, raw: string | undefined, fallback: number[]): number[] {
  if (raw === undefined) return fallback;
  const out = raw.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (out.length === 0 || out.some((x) => !Number.isFinite(x))) throw new CliError(`--${flag} expects numbers separated by commas, got '${raw}'.`);
  return out;
}

export function parseNumber(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const x = Number(raw);
  if (!Number.isFinite(x)) throw new CliError(`--${flag} expects a number, got '${raw}'.`);
  return x;
}
