// The upload job's records: the options, one record per file as it moves through the stages, and the result.
import type { FileRequest } from '../../api/contract.js';
import { type Inspected } from '../../files/inspect.js';
import { Ledger } from '../../files/ledger.js';
import { type Manifest, type ManifestFile } from '../../files/manifest.js';
import { type FoundFile, type PathFilter, type WalkSkips } from '../../files/scan.js';
import type { Reporter } from '../../ui/reporter.js';
import type { Spec } from '../../core/spec.js';

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
  reporter: Reporter;
  signal: AbortSignal;
  timeoutMs?: number;
  /** --exclude/--include in order, matched against each file's relPath. */
  filters?: PathFilter[];
}

export interface UploadRecord {
  path: string;
  relPath: string;
  status: 'uploaded' | 'skipped' | 'failed' | 'pending';
  key?: string;
  size?: number;
  retries?: number;
  error?: string;
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
  uploads: UploadRecord[];
  /** Every key that is in the bucket for this run (uploaded now or before). */
  keys: string[];
  /** Entries of the folders walked that were not images (or hidden), by kind. */
  walkSkipped: WalkSkips;
  /** Files left out by --exclude/--include. */
  excluded: number;
}

/** One run's shared state: what its steps read (options) and update (counters, the finished files). */
export interface UploadRun {
  opts: UploadOptions;
  ledger: Ledger;
  /** The first file of this run with each SHA-256: the only one of its content that is sent. */
  firstOf: Map<string, PendingPut>;
  stats: { retries: number; bytes: number };
  /** Every file ends here exactly once, whatever its status. */
  finish: (record: UploadRecord, entry: ManifestFile | undefined, line: string) => void;
}

/** A file that passed inspection (or that the ledger knows unchanged): it needs a URL and a PUT, or the API's "exists". */
export interface PendingPut {
  file: FoundFile;
  request: FileRequest;
  entry: ManifestFile;
  mtimeMs: number;
  /** Files of this run with the same bytes: they take this one's key when it is in the bucket. */
  twins: PendingPut[];
}

/** What a file is, from the ledger when its size and mtime are unchanged (no read), else from one read. */
export interface Checked {
  file: FoundFile;
  inspected: Inspected;
  mtimeMs: number;
}
