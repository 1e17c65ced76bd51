// The function's deadline as the handler sees it: Lambda's context says how long is left, and the
// handler stops work it cannot finish in time so that it can still answer for it (a failure
// record, or a retry) instead of being killed mid-write with nothing said.

/** The part of Lambda's context the handler uses. */
export interface LambdaContext {
  getRemainingTimeInMillis(): number;
}

/**
 * Kept back from every piece of work for answering after it: a record or a note to S3 (tens of
 * ms, seconds with the SDK's retries) and the reply to Lambda.
 */
const ANSWER_RESERVE_MS = 3000;
/** Less than this left for a photo: do not start it (no resize of a real photo is quicker). */
const MIN_WORK_MS = 1000;

export class DeadlineReached extends Error {
  constructor(readonly budgetMs: number) {
    super(`stopped after ${(budgetMs / 1000).toFixed(1)} s: the function's time was running out`);
    this.name = 'DeadlineReached';
  }
}

export class Deadline {
  /** The time the invocation had for work when it started (Infinity without a context: tests). */
  readonly atStart: number;
  /**
   * Kept back for answering: ANSWER_RESERVE_MS, or 40 % of a short function's time, so that a
   * 1 s timeout (`imgpipe dev --resize-timeout 1`) still leaves work 0.6 s, and its record 0.4 s
   * on a loaded machine, rather than refusing every photo for want of a reserve larger than the
   * whole invocation.
   */
  readonly reserveMs: number;
  /** Less than this left for a photo: it is not started (MIN_WORK_MS, or a quarter of a short function's time). */
  readonly minWorkMs: number;

  constructor(private readonly context?: LambdaContext) {
    const total = context ? context.getRemainingTimeInMillis() : Infinity;
    this.reserveMs = Math.min(ANSWER_RESERVE_MS, total * 0.4);
    this.minWorkMs = Math.min(MIN_WORK_MS, total / 4);
    this.atStart = total - this.reserveMs;
  }

  /** What the next piece of work may take. */
  budget(): number {
    return this.context ? this.context.getRemainingTimeInMillis() - this.reserveMs : Infinity;
  }

  /**
   * Whether a photo cut off with `budgetMs` had a fair run: at least half of what the whole
   * invocation had. Then the photo itself is too slow for this function; otherwise it only came
   * late (behind others in a batch) and a fresh invocation would give it the whole time.
   */
  wasFair(budgetMs: number): boolean {
    return budgetMs >= this.atStart / 2;
  }

  /** `work`, or DeadlineReached once `budgetMs` has passed (the work itself is left to finish or fail unseen). */
  async race<T>(work: Promise<T>, budgetMs: number): Promise<T> {
    if (budgetMs === Infinity) return work;
    let timer: NodeJS.Timeout | undefined;
    const stop = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new DeadlineReached(budgetMs)), Math.max(0, budgetMs));
    });
    try {
      return await Promise.race([work, stop]);
    } finally {
      clearTimeout(timer);
      work.catch(() => undefined); // abandoned: its late failure is nobody's
    }
  }
}
