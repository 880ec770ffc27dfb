import { onTestFailed } from 'vitest';
import { SeededRandom } from '../../src-shared/method/random';

/**
 * Random choices for a test (a kill point, a stop step) that a failure can replay: the seed is
 * PUMA_TEST_SEED when set, else new each run (so runs explore), and a failing test prints it.
 * Call inside the test body; put `seed` in the messages of the assertions it decides.
 */
export function testRandom(): { seed: number; label: string; int(lo: number, hiExclusive: number): number; uniform(): number; bytes(n: number): Buffer } {
  const fromEnv = process.env.PUMA_TEST_SEED;
  const seed = fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) : Date.now() % 2 ** 32;
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`PUMA_TEST_SEED must be a non-negative integer, got '${fromEnv}'`);
  const label = `seed ${seed} (replay: PUMA_TEST_SEED=${seed})`;
  onTestFailed(() => console.error(`random choices of this test: ${label}`));
  const rng = new SeededRandom(seed);
  return {
    seed,
    label,
    int: (lo, hiExclusive) => lo + Math.floor(rng.uniform() * (hiExclusive - lo)),
    uniform: () => rng.uniform(),
    bytes: (n) => Buffer.from(Array.from({ length: n }, () => rng.nextUint32() & 0xff)),
  };
}
