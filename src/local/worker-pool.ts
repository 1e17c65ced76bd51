// The local stack's resize "function": at most `size` instances (child processes running
// resize-worker.ts), each one invocation at a time, as Lambda runs a function's concurrent
// executions. An invocation that outlasts the function's timeout is stopped there (the instance
// is killed, as Lambda ends a timed-out sandbox), and an instance that dies takes its invocation
// with it; either way the caller learns which, and a fresh instance takes the place on demand.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RecordOutcome, ResizeEvent } from '../../lambda/resize.js';
import type { FromWorker, InstanceConfig, ToWorker } from './worker-protocol.js';

/** The instances' starting old-generation limit, MB (why: spawn()). handler 100 photos, one at a time: 0.147 -> 0.121 s CPU per photo, 90 -> 5 mark-compacts, +22 MB peak RSS. */
const INITIAL_OLD_SPACE_MB = 64;

export type InvokeResult =
  | { kind: 'answered'; outcomes: RecordOutcome[]; batchItemFailures: { itemIdentifier: string }[] }
  | { kind: 'threw'; message: string }
  | { kind: 'timeout'; timeoutMs: number }
  | { kind: 'crashed'; detail: string };

export interface PoolOptions {
  size: number;
  /** The function's timeout: an invocation still running then is stopped. */
  timeoutMs: number;
  /** The function's memory, as the instance's JS heap limit (libvips' pixel buffers are native and not counted). */
  memoryMb: number;
  config: InstanceConfig;
  /** Every structured line an instance logs. */
  log: (line: Record<string, unknown>) => void;
}

/**
 * The instance's entry, always built JS: the CLI loads this module from dist/src/local/, the tests
 * (vitest) from src/local/, and a child process cannot run the TypeScript.
 */
function workerEntry(): string {
  const here = import.meta.url;
  return fileURLToPath(here.endsWith('.ts') ? new URL('../../dist/src/local/resize-worker.js', here) : new URL('./resize-worker.js', here));
}

interface Instance {
  child: ChildProcess;
  ready: Promise<void>;
  dead: boolean;
  /** The invocation it runs, settled by its answer, its death or the timeout, whichever comes first. */
  current?: { requestId: string; settle: (r: InvokeResult) => void };
}

export class ResizePool {
  private readonly idle: Instance[] = [];
  private readonly waiting: Array<(i: Instance) => void> = [];
  private readonly all = new Set<Instance>();
  private invocations = 0;

  constructor(private readonly opts: PoolOptions) {}

  async invoke(event: ResizeEvent): Promise<InvokeResult> {
    const instance = await this.acquire();
    try {
      await instance.ready;
      return await this.run(instance, event);
    } catch (err) {
      return { kind: 'crashed', detail: `the instance did not start: ${(err as Error).message}` };
    } finally {
      this.release(instance);
    }
  }

  private run(instance: Instance, event: ResizeEvent): Promise<InvokeResult> {
    const requestId = `local-${process.pid}-${++this.invocations}`;
    return new Promise<InvokeResult>((resolve) => {
      const timer = setTimeout(() => {
        // Lambda's "Task timed out": the sandbox is ended, whatever the handler was doing.
        instance.current = undefined;
        this.kill(instance);
        resolve({ kind: 'timeout', timeoutMs: this.opts.timeoutMs });
      }, this.opts.timeoutMs);
      instance.current = {
        requestId,
        settle: (r) => {
          clearTimeout(timer);
          instance.current = undefined;
          resolve(r);
        },
      };
      this.send(instance, { type: 'invoke', requestId, event, deadlineAt: Date.now() + this.opts.timeoutMs });
    });
  }

  private acquire(): Promise<Instance> {
    const free = this.idle.pop();
    if (free) return Promise.resolve(free);
    if (this.all.size < this.opts.size) return Promise.resolve(this.spawn());
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(instance: Instance): void {
    if (instance.dead) {
      // Its place goes to a fresh instance, started for whoever waits (else on the next demand).
      const next = this.waiting.shift();
      if (next) next(this.spawn());
      return;
    }
    const next = this.waiting.shift();
    if (next) next(instance);
    else this.idle.push(instance);
  }

  private spawn(): Instance {
    const child = fork(workerEntry(), [], {
      // The function's memory as a heap limit, and the allocator setting the deployed function has
      // (unless this process was given its own, as the bin shim gives `imgpipe dev` the same one).
      // V8 counts Buffers allocated since its last full GC against the old generation's limit, and
      // a resize's ~15 MB heap starts with a limit of ~38 MB: each photo's pixel buffers (~10 MB)
      // set off a full mark-compact, ~0.9 per photo. A 64 MB start leaves them to the scavenger.
      execArgv: [`--max-old-space-size=${this.opts.memoryMb}`, `--initial-old-space-size=${INITIAL_OLD_SPACE_MB}`],
      env: { ...process.env, MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '1' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const instance: Instance = { child, dead: false, ready: Promise.resolve() };
    this.all.add(instance);
    instance.ready = new Promise<void>((resolve, reject) => {
      child.on('message', (m: FromWorker) => {
        if (m.type === 'ready') resolve();
        else if (m.type === 'log') this.opts.log(m.line);
        else if (instance.current?.requestId === m.requestId) {
          instance.current.settle(m.type === 'answer' ? { kind: 'answered', outcomes: m.outcomes, batchItemFailures: m.batchItemFailures } : { kind: 'threw', message: m.message });
        }
      });
      const died = (detail: string) => {
        if (!this.all.delete(instance)) return; // once, whether 'exit' or 'error' says it first
        instance.dead = true;
        const i = this.idle.indexOf(instance);
        if (i >= 0) this.idle.splice(i, 1);
        reject(new Error(detail));
        instance.current?.settle({ kind: 'crashed', detail });
      };
      child.once('exit', (code, signal) => died(signal ? `the instance was killed (${signal})` : `the instance exited with code ${code}`));
      // Cannot spawn or cannot talk to it: as good as dead.
      child.once('error', (err) => {
        child.kill('SIGKILL');
        died(`the instance failed: ${err.message}`);
      });
    });
    instance.ready.catch(() => undefined);
    this.send(instance, { type: 'init', config: this.opts.config });
    return instance;
  }

  private send(instance: Instance, m: ToWorker): void {
    if (instance.child.connected) instance.child.send(m);
    else this.kill(instance);
  }

  private kill(instance: Instance): void {
    instance.dead = true;
    instance.child.kill('SIGKILL');
  }

  /** End every instance; call once nothing is invoked any more. */
  async close(): Promise<void> {
    const exits = [...this.all].map((i) => new Promise<void>((resolve) => (i.child.exitCode !== null || i.child.signalCode !== null ? resolve() : i.child.once('exit', () => resolve()))));
    for (const i of this.all) this.kill(i);
    await Promise.all(exits);
  }
}
