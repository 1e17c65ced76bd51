// Fetch a batch's variants where people look: DIR/<variant>/<the file's path relative to the
// folder given, with the output's extension>, so trip1/IMG_1.jpg and trip2/IMG_1.jpg stay apart,
// and DIR/index.json mapping each local file to its source key and every variant (with its public
// URL when there is a CDN). The job prints nothing: it emits DownloadEvents (rendered by
// src/ui/watch-view.ts) and returns Downloads.
import pLimit from 'p-limit';
import path from 'node:path';
import type { DoneRecord } from '../core/record.js';
import { writeFileAtomic } from '../files/atomic.js';
import { downloadObject } from '../s3/download.js';
import type { PipelineTarget } from './target.js';

export interface Downloads {
  dir: string;
  files: number;
  bytes: number;
  errors: { key: string; error: string }[];
  index?: string;
}

/** What a download says while it runs, for whoever renders it (src/ui/watch-view.ts). */
export type DownloadEvent =
  /** The variants to fetch are known: `variants` of them (the progress total). */
  | { type: 'download-start'; variants: number }
  /** One variant is on disk at `path` (relative to the download folder). */
  | { type: 'variant-downloaded'; key: string; path: string; bytes: number }
  /** One variant could not be fetched; the others go on. */
  | { type: 'download-failed'; key: string; error: string }
  /** Every variant has been tried (index.json is written next). */
  | { type: 'download-end'; files: number; bytes: number; errors: number };

export interface DownloadPlan {
  /** Local file (relative path) or, when unknown, the source key. */
  file: string;
  source: string;
  variants: Array<DoneRecord['variants'][number] & { path: string }>;
}

/**
 * One entry per local file (several files may share a source: the same bytes), laid out by the
 * paths this run uploaded it from, else by the path its record names; otherwise by its key.
 */
export function planDownloads(done: DoneRecord[], localNames: Map<string, string[]> | undefined): DownloadPlan[] {
  const taken = new Set<string>();
  const plans: DownloadPlan[] = [];
  for (const r of done) {
    for (const rel of localNames?.get(r.source.key) ?? [r.source.path]) {
      const stem = rel?.slice(0, rel.length - path.posix.extname(rel).length);
      let variants = r.variants.map((v) => ({ ...v, path: stem === undefined ? v.key : `${v.name}/${stem}${path.posix.extname(v.key)}` }));
      // Two files whose paths differ only by extension (a.jpg, a.jpeg) would meet here: the second keeps the key layout.
      if (variants.some((v) => taken.has(v.path))) variants = r.variants.map((v) => ({ ...v, path: v.key }));
      for (const v of variants) taken.add(v.path);
      plans.push({ file: rel ?? r.source.key, source: r.source.key, variants });
    }
  }
  return plans;
}

export async function downloadBatch(
  target: Pick<PipelineTarget, 's3' | 'destBucket'>,
  plans: DownloadPlan[],
  dir: string,
  onEvent: (e: DownloadEvent) => void = () => {},
  signal?: AbortSignal,
): Promise<Downloads> {
  const limit = pLimit(8);
  const downloads: Downloads = { dir, files: 0, bytes: 0, errors: [] };
  const jobs = plans.flatMap((p) => p.variants);
  onEvent({ type: 'download-start', variants: jobs.length });
  await Promise.all(
    jobs.map((v) =>
      limit(async () => {
        try {
          const { bytes } = await downloadObject(await target.s3(), target.destBucket, v.key, dir, signal, v.path);
          downloads.files++;
          downloads.bytes += bytes;
          onEvent({ type: 'variant-downloaded', key: v.key, path: v.path, bytes });
        } catch (err) {
          downloads.errors.push({ key: v.key, error: (err as Error).message });
          onEvent({ type: 'download-failed', key: v.key, error: (err as Error).message });
        }
      }),
    ),
  );
  onEvent({ type: 'download-end', files: downloads.files, bytes: downloads.bytes, errors: downloads.errors.length });
  const index = path.join(dir, 'index.json');
  const doc = { files: plans.map((p) => ({ file: p.file, source: p.source, variants: p.variants.map(({ name, path: file, key, url, width, height, format, bytes }) => ({ name, file, key, ...(url && { url }), width, height, format, bytes })) })) };
  await writeFileAtomic(index, `${JSON.stringify(doc, null, 2)}\n`);
  downloads.index = index;
  return downloads;
}
