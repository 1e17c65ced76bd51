// How often a wait for records looks (s3/wait.ts): pure, so its schedule is tested by itself.

/**
 * The pauses between rounds: 100 ms after the first, ×1.5 for each round after it that found
 * nothing new, at most 2 s (S3 requests cost; most waits are long). A round that found records
 * with few left (≤ 32: a round costs a few requests) brings it back to at most ~0.34 s: the last
 * of a batch comes right behind the others, and `--wait` saw it up to 2 s late (0.2–1.5 s after
 * the last variant in the pipeline bench). `quiet` starts at -1.
 */
export function nextQuiet(quiet: number, found: boolean, pending: number): number {
  return found && pending <= 32 ? Math.min(quiet, 3) : quiet + 1;
}
export const pauseMs = (quiet: number) => Math.min(2_000, 100 * 1.5 ** quiet);
