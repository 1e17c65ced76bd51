// How often `watch` and `upload --wait` look: backing off while nothing arrives (S3 requests
// cost), and close behind the batch once its records come and few are left, so the last photo is
// seen within a third of a second of the others, not up to 2 s later.
import { describe, expect, it } from 'vitest';
import { nextQuiet, pauseMs } from '../src/s3/wait-schedule.js';

/** The pauses a wait makes after each round, given whether each round found records and what was left. */
function pauses(rounds: { found: boolean; pending: number }[]): number[] {
  let quiet = -1;
  return rounds.map((r) => pauseMs((quiet = nextQuiet(quiet, r.found, r.pending))));
}

describe("the wait's rounds", () => {
  it('back off from 100 ms by half again each round that finds nothing, to 2 s at most', () => {
    const idle = pauses(Array.from({ length: 12 }, () => ({ found: false, pending: 5 })));
    expect(idle.slice(0, 4)).toEqual([100, 150, 225, 337.5]);
    expect(Math.max(...idle)).toBe(2_000);
    expect(idle.slice(-3)).toEqual([2_000, 2_000, 2_000]);
  });

  it('after a long quiet wait, records arriving with few left bring the pause back to about a third of a second', () => {
    const rounds = [...Array.from({ length: 10 }, () => ({ found: false, pending: 20 })), { found: true, pending: 12 }, { found: true, pending: 1 }];
    const p = pauses(rounds);
    expect(p[9]).toBe(2_000);
    expect(p.slice(10)).toEqual([337.5, 337.5]);
  });

  it('with many still pending (each round lists pages), it keeps backing off even as records come', () => {
    const p = pauses(Array.from({ length: 12 }, () => ({ found: true, pending: 5_000 })));
    expect(p.slice(-2)).toEqual([2_000, 2_000]);
  });
});
