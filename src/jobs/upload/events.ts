// What the upload job says while it runs, as lib-storage's Upload says `httpUploadProgress`: typed
// events for whoever renders them (src/ui/upload-view.ts: bars, plain lines, -v, --json). The job
// prints nothing; every line a person sees comes from one of these.
import type { FileStatus, PassedOver } from '../../core/file-status.js';

/** A file as the events, the result and --json show it: what its status has to say (./record.ts writes it). */
export interface UploadRecord {
  path: string;
  relPath: string;
  status: FileStatus;
  key?: string;
  size?: number;
  retries?: number;
  error?: string;
  /** The ledger knows its variants of this spec are there: the API was not asked (--verify asks). */
  resized?: true;
  /** Exists without its variants (the pipeline had failed it, or never finished): queued for resize again then. */
  requeuedAt?: string;
  /** The same bytes as this file of the run, which is the one sent (or, in a dry run, would be). */
  twinOf?: string;
  /** A dry run: the ledger knows it stored (unchanged since its upload); nothing was asked. */
  fromLedger?: true;
}

/** Where a file failed: its argument could not be read, its bytes are no image, the API refused it, or S3 did. */
export type UploadStage = 'scan' | 'check' | 'presign' | 'put';

export type UploadEvent =
  /** Something the person should know that is not a file's failure (the spec is too slow for the Lambda, the ledger could not be written). */
  | { type: 'warning'; message: string }
  /** An entry of a walked folder passed over (never uploaded, never a failure): hidden, not an image by its extension, not a regular file, or left out by a filter. */
  | { type: 'file-passed-over'; path: string; reason: Exclude<PassedOver, 'excluded'> }
  | { type: 'file-passed-over'; path: string; relPath: string; reason: 'excluded'; pattern: string }
  /** The files to upload are known: `files` of them, `bytes` in all (the progress total). */
  | { type: 'scan-done'; files: number; bytes: number }
  /** A file is an image within the limits; its hash came from the ledger (no read) or one read. */
  | { type: 'file-checked'; relPath: string; size: number; sha256: string; fromLedger: boolean }
  /** A batch goes to the presign API (`url`). */
  | { type: 'batch-presigning'; url: string; files: number }
  /** Its answer: how many got a URL, were already there, were refused; or the whole request failed. */
  | { type: 'batch-presigned'; files: number; urls: number; exists: number; refused: number; error?: string }
  /** A URL expired mid-upload: one file is presigned again. */
  | { type: 'url-refresh'; url: string; relPath: string }
  | { type: 'put-start'; relPath: string; key: string; size: number }
  /** Bytes of a PUT on the wire since the last event; negative when a retry starts the file over. */
  | { type: 'put-progress'; relPath: string; bytes: number }
  /** A request (`what`: "POST /uploads", "PUT a.jpg") failed and is tried again. */
  | { type: 'retry'; what: string; reason: string }
  | { type: 'file-uploaded'; file: UploadRecord }
  /** The bucket holds the file's bytes: from an earlier run, anywhere, or its `twinOf` (a file of this run). */
  | { type: 'file-exists'; file: UploadRecord }
  /** A dry run: the file would be sent (it stays `pending`). */
  | { type: 'file-would-upload'; file: UploadRecord }
  /** `bytes`: the file's share of the scan-done total, so a progress bar still ends at 100 %. */
  | { type: 'file-failed'; file: UploadRecord; stage: UploadStage; bytes: number };
