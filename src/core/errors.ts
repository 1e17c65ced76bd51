// One error model for every layer (core, jobs, deploy, the Lambdas): a message for people, a
// stable code for programs (--json, failure records, retry decisions), and the exit code the CLI
// maps it to, so `cli/main.ts` needs no list of classes. Pure: the Lambdas bundle it too.

/**
 * 0: all work succeeded. 1: some work failed. 2: bad usage (flags, config). 3: the pipeline could
 * not be reached (its API refused the connection, the key or the URL): nothing was tried. 130/143:
 * interrupted.
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;

export type ErrorExit = typeof EXIT.failed | typeof EXIT.usage;

export class ImgpipeError extends Error {
  override name = 'ImgpipeError';
  constructor(
    message: string,
    /** Stable: programs and tests branch on it, never on the message. */
    readonly code: string,
    /** What the CLI exits with when this ends a run. */
    readonly exit: ErrorExit = EXIT.failed,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Whether `err` is ours with this code: callers branch on the code, not on a class. */
export function hasCode(err: unknown, code: string): err is ImgpipeError {
  return err instanceof ImgpipeError && err.code === code;
}

/** Bad flags, config or arguments: nothing was tried. The message may hold several lines, one per problem. */
export class UsageError extends ImgpipeError {
  override name = 'UsageError';
  constructor(message: string) {
    super(message, 'Usage', EXIT.usage);
  }
}
