// The upload job's records: the options, the one record per file that flows through the stages
// (scan → check → presign → put → record), and the result it returns.
import { Ledger } from '../../files/ledger.js';
import { type Manifest } from '../../files/manifest.js';
import { type FoundFile, type PathFilter, type WalkSkips } from '../../files/scan.js';
import type { Spec } from '../../core/spec.js';
import type { UploadEvent } from './events.js';
import type { UploadStopped } from './unreachable.js';

export interface UploadOptions {
  paths: string[];
  /** Limits checked before upload (pixel limit, frames), the same the resize applies. */
  spec: Spec;
  api: string;
  apiKey?: string;
  concurrency?: number;
  batchSize?: number;
  manifestPath: string;
  /** Every upload of this working folder, across runs (default .imgpipe/ledger.jsonl). */
  ledgerPath?: string;
  /** Recorded in the manifest so `watch` can find the outputs later. */
  destination: Pick<Manifest, 'destBucket' | 'endpoint' | 'region' | 'local' | 'target'>;
  /** Progress, as it happens; the job itself prints nothing. */
  onEvent?: (e: UploadEvent) => void;
  signal: AbortSignal;
  timeoutMs?: number;
  /** --exclude/--include in order, matched against each file's relPath. */
  filters?: PathFilter[];
  /** Replaces process.env for the spec's timeout estimate (IMGPIPE_RESIZE_TIMEOUT_S). */
  env?: NodeJS.ProcessEnv;
  /** --verify: ask the API about every file, even those the ledger knows stored and resized. */
  verify?: boolean;
}

/**
 * The one record per file: made by the scan, filled in by each stage (the check adds the hash and
 * type, the presign the key, the put the retries), and ended exactly once as uploaded, skipped
 * (the bucket holds its bytes) or failed; 'pending' at the end means never reached (interrupted).
 * The manifest's entries and the result's `uploads` are both read off it.
 */
export interface FileRecord {
  path: string;
  relPath: string;
  /** The scan's find (disk path, mtime); absent for an argument the scan could not read. */
  found?: FoundFile;
  status: 'pending' | 'uploaded' | 'skipped' | 'failed';
  /** The scan's size, then the one the check read. */
  size: number;
  /** Set by the check: what the API is told. */
  sha256?: string;
  contentType?: string;
  /** Each part's SHA-256, for a file that goes up in parts (files/part-hashes.ts). */
  parts?: string[];
  key?: string;
  /** PUT retries of this file. */
  retries?: number;
  error?: string;
  uploadedAt?: string;
  /** Skipped because the ledger knows it resized with this spec (no request was made). */
  resized?: boolean;
  /** Already there, but its resize had never finished: the API queued it again at this time (lambda/heal.ts). */
  requeuedAt?: string;
}

/** A file as the result (and --json) shows it. */
export interface UploadRecord {
  path: string;
  relPath: string;
  status: FileRecord['status'];
  key?: string;
  size?: number;
  retries?: number;
  error?: string;
  /** The ledger knows its variants of this spec are there: the API was not asked (--verify asks). */
  resized?: true;
  /** Already there without its variants (the pipeline had failed it, or never finished): queued for resize again then. */
  requeuedAt?: string;
}

export interface UploadResult {
  ok: boolean;
  interrupted: boolean;
  api: string;
  files: number;
  uploaded: number;
  skipped: number;
  failed: number;
  retries: number;
  bytes: number;
  seconds: number;
  filesPerSecond: number;
  megabytesPerSecond: number;
  manifest: string;
  /** Whether this run wrote `manifest` (not when it put no key anywhere, nor when the write failed). */
  manifestWritten: boolean;
  uploads: UploadRecord[];
  /** Every key that is in the bucket for this run (uploaded now or before). */
  keys: string[];
  /** Entries of the folders walked that were not images (or hidden), by kind. */
  walkSkipped: WalkSkips;
  /** Files left out by --exclude/--include. */
  excluded: number;
  /** Each `warning` event's text (a spec too slow for the Lambda, a ledger that could not be written). */
  warnings: string[];
  /** The run stopped before sending anything, because the API could not be reached; every file is pending. */
  stopped?: UploadStopped;
}

/** One run's shared state: what its stages read (options) and update (counters, twins). */
export interface UploadRun {
  opts: UploadOptions;
  ledger: Ledger;
  /** The hash of opts.spec: what a ledger entry's `done` must be for the file to be asked nothing. */
  specHash: string;
  emit: (e: UploadEvent) => void;
  warn: (message: string) => void;
  /** The first file of this run with each SHA-256: the only one of its content that is sent. */
  firstOf: Map<string, FileRecord>;
  /** Files waiting on their first (same bytes, still in flight): they end as it ends. */
  twins: Map<FileRecord, FileRecord[]>;
  stats: { retries: number; bytes: number };
  /** A presign request of this run has been answered: the API is there. */
  apiAnswered?: boolean;
  /** The first presign request showed the API cannot be reached: no further batch is sent. */
  stopped?: UploadStopped;
  /** Save the manifest (coalesced): called when a checked file changes. */
  save: () => void;
}

