// What a running `imgpipe dev` writes about itself (its state file, mode 0600): read by ./trust.ts,
// written and found by ./state.ts.

export interface DevState {
  pid: number;
  apiUrl: string;
  /** The local CDN's base URL: a variant's public URL is `<this>/<its key>`, as `cdn` in imgpipe.config.json is on AWS. */
  cdnUrl?: string;
  s3Endpoint: string;
  region: string;
  sourceBucket: string;
  destBucket: string;
  dataDir: string;
  /** The folder `dev` ran in, whose .imgpipe/dev.json names it: whose stack this is. */
  root?: string;
  /** The data folder's own random pair (not an AWS credential); this file is mode 0600. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** The API key `dev` requires, if any, so `upload --local` can send it. */
  apiKey?: string;
  /** When it started (ms since the epoch): with several running, the newest is taken. */
  startedAt?: number;
}
