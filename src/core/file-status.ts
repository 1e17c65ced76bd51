// The words for where one file stands, the same in every output: the upload job's record and
// events, --json, the manifest, the ledger's view of it, and the page. One word per idea:
// "exists" is "the bucket already holds these bytes", never "skipped"; the walk's passing over an
// entry (hidden, not an image, excluded) is not a status of an upload at all.

/**
 * pending: not ended (not reached yet, interrupted, or a dry run's "would upload");
 * uploaded: this run sent its bytes; exists: the bucket held its bytes already (an earlier run,
 * another folder or machine, a copy of this run); failed: its error says why.
 */
export type FileStatus = 'pending' | 'uploaded' | 'exists' | 'failed';

/** In the bucket after the run: what `watch`, `reprocess` and `--wait` look at. */
export const isStored = (status: string): boolean => status === 'uploaded' || status === 'exists';

/** Why a folder walk passed over an entry: never uploaded, never a failure. */
export type PassedOver = 'hidden' | 'not-an-image' | 'excluded' | 'fifo' | 'socket' | 'device';
