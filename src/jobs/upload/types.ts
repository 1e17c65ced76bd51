// The upload job's records: the options, the one record per file that flows through the stages
// (scan → check → presign → put → record), and the result it returns.
import { Ledger } from '../../files/ledger.js';
import { type FoundFile, type PathFilter, type WalkSkips } from '../../files/scan.js';
import type { BatchCost, Deployment } from '../../core/cost.js';
import type { Destination } from '../../core/destination.js';
import type { FileStatus } from '../../core/file-status.js';
import type { Spec } from '../../core/spec.js';
import type { SignedPut } from '../../s3/put.js';
import type { UploadParts } from '../../api/contract.js';
import type { UploadEvent, UploadRecord } from './events.js';
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
  destination: Destination;
  /**
   * --dry-run: the same stages with the sending ones left out (rclone's one guard inside the real
   * copy): the scan, the checks, the ledger and the twins rule run; nothing is asked or sent, no
   * manifest or ledger written; a file that would be sent ends `pending`, one the ledger knows
   * stored ends `exists`.
   */
  dryRun?: boolean;
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
 * The one record per file: made by the scan, filled in by each stage (the check adds the hash,
 * type and pixels, the presign the key and what to send, the put the retries), and ended exactly
 * once as uploaded, exists or failed; 'pending' at the end means never reached (interrupted, or
 * a dry run's "would upload"). The result's `uploads`, the events' files, the manifest's entries
 * and the ledger's are views of it, all written by ./record.ts.
 */
export interface FileRecord {
  path: string;
  relPath: string;
  /** The scan's find (disk path, mtime); absent for an argument the scan could not read. */
  found?: FoundFile;
  status: FileStatus;
  /** The scan's size, then the one the check read. */
  size: number;
  /** Set by the check: what the API is told. */
  sha256?: string;
  contentType?: string;
  /** Each part's SHA-256, for a file that goes up in parts (files/part-hashes.ts). */
  parts?: string[];
  /** Its pixels, when the check read its header (the dry run's cost estimate). */
  width?: number;
  height?: number;
  /** The check took its hash from the ledger (the file unchanged since its upload): no read. */
  fromLedger?: boolean;
  /** The key the ledger knows it stored under: asked about not at all (resized with this spec, or a dry run). */
  ledgerKey?: string;
  key?: string;
  /** Set by the presign: one pre-signed PUT, or a multipart plan (its parts, then POST /uploads/complete). */
  send?: { signed: SignedPut } | { plan: UploadParts };
  /** PUT retries of this file. */
  retries?: number;
  error?: string;
  uploadedAt?: string;
  /** Exists as a copy of this file of the run (the one sent). */
  twinOf?: string;
  /** Exists, and the ledger knows it resized with this spec (no request was made). */
  resized?: boolean;
  /** Already there, but its resize had never finished: the API queued it again at this time (lambda/heal.ts). */
  requeuedAt?: string;
}

export interface UploadResult {
  ok: boolean;
  interrupted: boolean;
  api: string;
  files: number;
  uploaded: number;
  /** Files whose bytes the bucket already held. */
  exists: number;
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
  /** --dry-run: nothing was asked or sent; `toUpload` files (`pending`), `toUploadBytes` in all, would have been. */
  dryRun?: true;
  toUpload?: number;
  toUploadBytes?: number;
  /** --dry-run to a deployed pipeline: what resizing the `toUpload` files costs on the template's default deployment. */
  aws?: BatchCost & { deployment: Deployment };
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

