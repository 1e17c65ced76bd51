// The storage behind the S3 front: buckets and objects indexed in memory from the journal, bytes in
// the blob store. Order of every change: bytes written and fsynced, journal record fsynced, index
// updated, old bytes deleted. A crash at any point leaves the old object or the new one, never a
// torn one; an ObjectCreated event is in the same journal record as the object it announces, an
// ObjectRemoved event in the same record as the delete.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { BlobStore, newId } from './blobs.js';
import { Journal } from './journal.js';
import { blobsOf, type CompletedUpload, type JournalRecord, type ObjectMeta, type PartMeta, type StoredEvent, type UploadMeta } from './records.js';
import { SortedKeys } from './sorted-keys.js';

/** Completed uploads remembered for retried Completes; the oldest is forgotten past this. */
const COMPLETED_KEPT = 1000;

/** Journal growth allowed past twice its compacted size before compacting again. */
const COMPACT_SLACK_BYTES = 1024 * 1024;

interface Bucket {
  created: number;
  objects: Map<string, ObjectMeta>;
  keys: SortedKeys;
}

export interface Upload extends UploadMeta {
  parts: Map<number, PartMeta>;
}

export class Store {
  readonly blobs: BlobStore;
  private readonly buckets = new Map<string, Bucket>();
  private readonly uploads = new Map<string, Upload>();
  /** Uploads a Complete or an Abort is ending now: the other finds them gone (see claimUpload). */
  private readonly ending = new Set<string>();
  /** bucket\0key of conditional writes between their check and their index update (see write-conditions.ts). */
  private readonly reserved = new Set<string>();
  private readonly events = new Map<number, StoredEvent>();
  /** Upload id → what its Complete answered (insertion order: oldest first, see COMPLETED_KEPT). */
  private readonly completed = new Map<string, CompletedUpload>();
  private seq = 0;
  /** The live state's size in the journal at the last compaction (or open): the next is due at twice that. */
  private compactedBytes = 0;
  private compacting?: Promise<void>;
  /** Why the last compaction failed, if it did (the old journal stays valid; it is retried later). */
  compactionError?: Error;

  /** Set once replay is done. */
  private journal!: Journal<JournalRecord>;

  private constructor(
    blobDir: string,
    fsync: boolean,
  ) {
    this.blobs = new BlobStore(blobDir, fsync);
  }

  /** fsync: false skips fdatasync of bytes and journal (measurement only; see LocalS3Options.fsync). */
  static async open(dataDir: string, fsync = true): Promise<Store> {
    await fsp.mkdir(dataDir, { recursive: true, mode: 0o700 });
    const store = new Store(path.join(dataDir, 'blobs'), fsync);
    // Each record is applied as it is read: replay holds the live state, never the whole history.
    const { journal } = await Journal.open<JournalRecord>(path.join(dataDir, 'journal.jsonl'), fsync, (r) => void store.apply(r, true));
    store.journal = journal;
    await store.blobs.init();
    for (const b of store.buckets.values()) b.keys = new SortedKeys(b.objects.keys());
    await store.blobs.sweep(store.liveBlobs());
    // The rule compaction follows while running, applied to what replay found.
    const live = store.liveBytes();
    if (journal.bytes > live * 2 + COMPACT_SLACK_BYTES) await journal.rewrite(() => store.liveRecords());
    store.compactedBytes = live;
    return store;
  }

  /** Apply one journal record to the in-memory index (replay and live changes alike);
   *  returns the version it replaced or deleted. While replaying, sorted keys are built once at the end. */
  private apply(r: JournalRecord, replaying = false): ObjectMeta | undefined {
    switch (r.t) {
      case 'bucket':
        if (!this.buckets.has(r.b)) this.buckets.set(r.b, { created: r.at, objects: new Map(), keys: new SortedKeys() });
        return undefined;
      case 'unbucket':
        this.buckets.delete(r.b);
        return undefined;
      case 'put': {
        const b = this.buckets.get(r.b);
        // The event first: it is kept until acknowledged even if its bucket is gone.
        if (r.ev) this.keepEvent(r.ev);
        if (!b) return undefined;
        const old = b.objects.get(r.k);
        b.objects.set(r.k, r.o);
        if (!replaying) b.keys.insert(r.k);
        return old;
      }
      case 'del': {
        const b = this.buckets.get(r.b);
        if (r.ev) this.keepEvent(r.ev);
        const old = b?.objects.get(r.k);
        if (b && old) {
          b.objects.delete(r.k);
          if (!replaying) b.keys.remove(r.k);
        }
        return old;
      }
      case 'ack':
        this.events.delete(r.seq);
        return undefined;
      case 'mpu':
        this.uploads.set(r.id, { ...r.u, parts: new Map() });
        return undefined;
      case 'part':
        this.uploads.get(r.id)?.parts.set(r.n, r.p);
        return undefined;
      case 'mpu-end':
        this.uploads.delete(r.id);
        if (r.done) this.rememberCompleted(r.id, r.done);
        return undefined;
    }
  }

  private rememberCompleted(id: string, done: CompletedUpload): void {
    this.completed.set(id, done);
    for (const old of this.completed.keys()) {
      if (this.completed.size <= COMPLETED_KEPT) break;
      this.completed.delete(old);
    }
  }

  private keepEvent(ev: StoredEvent): void {
    this.events.set(ev.seq, ev);
    this.seq = Math.max(this.seq, ev.seq);
  }

  private liveBlobs(): Set<string> {
    const keep = new Set<string>();
    for (const b of this.buckets.values()) for (const o of b.objects.values()) for (const id of blobsOf(o)) keep.add(id);
    for (const u of this.uploads.values()) for (const p of u.parts.values()) keep.add(p.blob);
    return keep;
  }

  /** Bytes of the journal compaction would write now. */
  private liveBytes(): number {
    let n = 0;
    for (const r of this.liveRecords()) n += Buffer.byteLength(JSON.stringify(r)) + 1;
    return n;
  }

  /** The shortest journal that rebuilds today's state (compaction), yielded one record at a time. */
  private *liveRecords(): Generator<JournalRecord> {
    // Events first, before any bucket exists: replay keeps each event and sets no object, so an
    // event costs one short line however large its object, and one whose object is gone still replays.
    // A removal replays as a delete of a key in no bucket yet: it keeps the event, removes nothing.
    for (const ev of this.events.values()) {
      if (isRemoval(ev)) yield { t: 'del', b: ev.bucket, k: ev.key, ev };
      else yield { t: 'put', b: ev.bucket, k: ev.key, o: ghost(ev), ev };
    }
    for (const [name, b] of this.buckets) {
      yield { t: 'bucket', b: name, at: b.created };
      for (const [k, o] of b.objects) yield { t: 'put', b: name, k, o };
    }
    for (const [id, u] of this.uploads) {
      const { parts: _parts, ...meta } = u;
      yield { t: 'mpu', id, u: meta };
      for (const [n, p] of u.parts) yield { t: 'part', id, n, p };
    }
    for (const [id, done] of this.completed) yield { t: 'mpu-end', id, done };
  }

  private async commit(r: JournalRecord, durable = true): Promise<ObjectMeta | undefined> {
    await this.journal.append(r, durable);
    const old = this.apply(r);
    this.compactWhenDue();
    return old;
  }

  /**
   * Compact while running, in the background, once the journal has doubled since the last
   * compaction (plus some slack): it stays within a small multiple of the live state, and each
   * record is rewritten a bounded number of times on average.
   */
  private compactWhenDue(): void {
    if (this.compacting || this.journal.bytes <= this.compactedBytes * 2 + COMPACT_SLACK_BYTES) return;
    this.compacting = this.journal
      .rewrite(() => this.liveRecords())
      .then(
        () => {
          this.compactionError = undefined;
          this.compactedBytes = this.journal.bytes;
        },
        (err: unknown) => {
          // The old journal is intact; try again after it has doubled once more.
          this.compactionError = err instanceof Error ? err : new Error(String(err));
          this.compactedBytes = this.journal.bytes;
        },
      )
      .finally(() => (this.compacting = undefined));
  }

  // ---- buckets

  bucketNames(): Array<{ name: string; created: number }> {
    return [...this.buckets].map(([name, b]) => ({ name, created: b.created })).sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  hasBucket(name: string): boolean {
    return this.buckets.has(name);
  }

  async createBucket(name: string): Promise<boolean> {
    if (this.buckets.has(name)) return false;
    await this.commit({ t: 'bucket', b: name, at: Date.now() });
    return true;
  }

  isEmpty(name: string): boolean {
    return (this.buckets.get(name)?.objects.size ?? 0) === 0;
  }

  async deleteBucket(name: string): Promise<void> {
    await this.commit({ t: 'unbucket', b: name });
  }

  keys(bucket: string): SortedKeys | undefined {
    return this.buckets.get(bucket)?.keys;
  }

  // ---- objects

  get(bucket: string, key: string): ObjectMeta | undefined {
    return this.buckets.get(bucket)?.objects.get(key);
  }

  isReserved(bucket: string, key: string): boolean {
    return this.reserved.has(`${bucket}\0${key}`);
  }

  /** Hold bucket/key for one conditional write; the release is idempotent. */
  reserve(bucket: string, key: string): () => void {
    const k = `${bucket}\0${key}`;
    this.reserved.add(k);
    return () => void this.reserved.delete(k);
  }

  /** Make `meta` (whose blob is already durable) the object at bucket/key. */
  async put(bucket: string, key: string, meta: ObjectMeta, eventName?: string): Promise<StoredEvent | undefined> {
    const ev = eventName
      ? { seq: ++this.seq, bucket, key, size: meta.size, eTag: meta.etag, eventName, eventTime: new Date(meta.lastModified).toISOString() }
      : undefined;
    const old = await this.commit({ t: 'put', b: bucket, k: key, o: meta, ev });
    if (old) {
      const kept = new Set(blobsOf(meta));
      for (const id of blobsOf(old)) if (!kept.has(id)) this.blobs.remove(id);
    }
    return ev;
  }

  /** Delete bucket/key; with `eventName`, announce it (durably, in the same record). Nothing there: nothing happens. */
  async delete(bucket: string, key: string, eventName?: string): Promise<StoredEvent | undefined> {
    if (!this.get(bucket, key)) return undefined;
    const ev = eventName ? { seq: ++this.seq, bucket, key, eventName, eventTime: new Date().toISOString() } : undefined;
    const old = await this.commit({ t: 'del', b: bucket, k: key, ev });
    if (old) for (const id of blobsOf(old)) this.blobs.remove(id);
    return ev;
  }

  // ---- events

  pendingEvents(): StoredEvent[] {
    return [...this.events.values()].sort((a, b) => a.seq - b.seq);
  }

  /** Not fsynced: a lost acknowledgement only means the event is delivered again (at least once). */
  async ack(seq: number): Promise<void> {
    if (this.events.has(seq)) await this.commit({ t: 'ack', seq }, false);
  }

  // ---- multipart

  async createUpload(u: UploadMeta): Promise<string> {
    const id = newId();
    await this.commit({ t: 'mpu', id, u });
    return id;
  }

  upload(id: string): Upload | undefined {
    return this.uploads.get(id);
  }

  /** The uploads in progress in `bucket`, by key, then initiation time, then id (ListMultipartUploads' order). */
  uploadsIn(bucket: string): Array<{ id: string; upload: Upload }> {
    const out = [...this.uploads].filter(([, u]) => u.bucket === bucket).map(([id, upload]) => ({ id, upload }));
    const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    return out.sort((a, b) => cmp(a.upload.key, b.upload.key) || a.upload.initiated - b.upload.initiated || cmp(a.id, b.id));
  }

  /** What the Complete of `id` answered, while it is remembered (see COMPLETED_KEPT). */
  completedUpload(id: string): CompletedUpload | undefined {
    return this.completed.get(id);
  }

  async putPart(id: string, n: number, p: PartMeta): Promise<void> {
    const old = this.uploads.get(id)?.parts.get(n);
    await this.commit({ t: 'part', id, n, p });
    if (old) this.blobs.remove(old.blob);
  }

  /**
   * Take the upload for a Complete or an Abort, synchronously, so the two (or two Completes) are
   * exclusive: the first wins, and the other sees no such upload, as on S3. undefined: it is gone
   * or already taken. Release if the work failed and the upload stays (a Complete refused, an I/O
   * error); after endUpload releasing is harmless.
   */
  claimUpload(id: string): (() => void) | undefined {
    if (!this.uploads.has(id) || this.ending.has(id)) return undefined;
    this.ending.add(id);
    return () => void this.ending.delete(id);
  }

  /** Forget an upload and delete its parts' names (Complete has linked the ones it used under the object's); `done`: what its Complete answered. */
  async endUpload(id: string, done?: CompletedUpload): Promise<void> {
    const u = this.uploads.get(id);
    if (!u) return;
    await this.commit({ t: 'mpu-end', id, done });
    for (const p of u.parts.values()) this.blobs.remove(p.blob);
  }

  async close(): Promise<void> {
    await this.compacting;
    await this.journal.close();
  }
}

export function isRemoval(ev: Pick<StoredEvent, 'eventName'>): boolean {
  return ev.eventName.startsWith('ObjectRemoved:');
}

/** Metadata of an object that no longer exists, for an event replayed after compaction. */
function ghost(ev: StoredEvent): ObjectMeta {
  return { blob: '', size: ev.size ?? 0, etag: ev.eTag ?? '', contentType: '', headers: {}, userMeta: {}, lastModified: Date.parse(ev.eventTime) };
}
