// Delivery of the durable event queue (ObjectCreated and ObjectRemoved), as S3 → SQS → Lambda does it: every event is handed
// to the consumer until it succeeds (at least once, across restarts); a failure is retried with
// exponential backoff up to a bound, then handed to `onGiveUp` and dropped from the queue.
import type { StoredEvent } from './storage/records.js';
import type { Store } from './storage/store.js';

/** An ObjectCreated or ObjectRemoved event (`eventName`); `key` is the raw key, not URL-encoded. */
export type ObjectCreatedEvent = StoredEvent;

export interface ConsumeOptions {
  /** Events handled at once (default 1). */
  concurrency?: number;
  /** Attempts before giving up (default 5). */
  maxAttempts?: number;
  /** Delay before attempt n+1 (default 250 ms · 2^(n-1), at most 10 s). */
  backoffMs?: (attempt: number) => number;
  /** After the last failed attempt; the event is then removed from the queue. */
  onGiveUp?: (ev: ObjectCreatedEvent, err: unknown) => void | Promise<void>;
}

export type EventHandler = (ev: ObjectCreatedEvent, attempt: number) => Promise<void>;

const defaultBackoff = (attempt: number): number => Math.min(10_000, 250 * 2 ** (attempt - 1));

export class EventDelivery {
  private readonly waiting: Array<{ ev: ObjectCreatedEvent; attempt: number }> = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private running = 0;
  /** Each event not yet acknowledged, by sequence number: where it is, for backlog(). */
  private readonly where = new Map<number, { key: string; inFlight: boolean }>();
  private closed = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly store: Store,
    private readonly handler: EventHandler,
    private readonly opts: ConsumeOptions = {},
  ) {
    for (const ev of store.pendingEvents()) this.push(ev);
  }

  push(ev: ObjectCreatedEvent, attempt = 1): void {
    if (this.closed) return;
    this.waiting.push({ ev, attempt });
    this.where.set(ev.seq, { key: ev.key, inFlight: false });
    this.pump();
  }

  private pump(): void {
    while (!this.closed && this.waiting.length && this.running < (this.opts.concurrency ?? 1)) {
      const job = this.waiting.shift()!;
      this.running++;
      this.where.set(job.ev.seq, { key: job.ev.key, inFlight: true });
      void this.run(job.ev, job.attempt).finally(() => {
        this.running--;
        this.pump();
        this.checkIdle();
      });
    }
  }

  private async run(ev: ObjectCreatedEvent, attempt: number): Promise<void> {
    try {
      await this.handler(ev, attempt);
    } catch (err) {
      if (attempt < (this.opts.maxAttempts ?? 5)) return this.retryLater(ev, attempt);
      await Promise.resolve(this.opts.onGiveUp?.(ev, err)).catch(() => undefined);
    }
    // Acknowledged even while closing: the store closes after its deliveries.
    await this.store.ack(ev.seq).catch(() => undefined);
    this.where.delete(ev.seq);
  }

  /** Events waiting (queued, or for a retry's timer) and being handled, of these keys (default: all). */
  backlog(keys?: ReadonlySet<string>): { queued: number; inFlight: number } {
    let queued = 0;
    let inFlight = 0;
    for (const w of this.where.values()) {
      if (keys && !keys.has(w.key)) continue;
      if (w.inFlight) inFlight++;
      else queued++;
    }
    return { queued, inFlight };
  }

  private retryLater(ev: ObjectCreatedEvent, attempt: number): void {
    if (this.closed) return;
    this.where.set(ev.seq, { key: ev.key, inFlight: false });
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.push(ev, attempt + 1);
    }, (this.opts.backoffMs ?? defaultBackoff)(attempt));
    this.timers.add(timer);
  }

  /** Work queued, running, or waiting for a retry's timer. */
  private busy(): boolean {
    return this.running > 0 || this.waiting.length > 0 || this.timers.size > 0;
  }

  private checkIdle(): void {
    if (this.busy()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** Resolves when nothing is queued, running or waiting for a retry. */
  idle(): Promise<void> {
    if (!this.busy()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stop starting work (unacknowledged events stay in the journal for the next start); wait for running handlers. */
  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.waiting.length = 0;
    this.where.clear();
    while (this.running) await new Promise((r) => setTimeout(r, 10));
    this.checkIdle();
  }
}
