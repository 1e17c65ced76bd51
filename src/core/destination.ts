// Where an upload's keys live: the job's input (UploadOptions.destination), and what the manifest
// keeps of it so `watch` and `reprocess` work with no flags after an upload.

export interface Destination {
  /**
   * Which pipeline, stable across runs: the API and bucket, or `local:<data dir>` for the local
   * stack (whose API port changes from run to run). The ledger files uploads under it: a re-run
   * trusts what it knows only for the same pipeline.
   */
  pipeline: string;
  /** Where the variants land. */
  destBucket?: string;
  endpoint?: string;
  region?: string;
  local?: boolean;
}

/** The local stack's pipeline: its data folder, absolute (its ports change from run to run). */
export const localPipeline = (absoluteDataDir: string): string => `local:${absoluteDataDir}`;
