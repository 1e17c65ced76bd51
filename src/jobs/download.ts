// Fetch a batch's variants where people look: DIR/<variant>/<the file's path relative to the
// folder given, with the output's extension>, so trip1/IMG_1.jpg and trip2/IMG_1.jpg stay apart,
// and DIR/index.json mapping each local file to its source key and every variant (with its public
// URL when there is a CDN).
import pLimit from 'p-limit';
import path from 'node:path';
import type { DoneRecord } from '../core/record.js';
import { writeFileAtomic } from '../files/atomic.js';
import { downloadObject } from '../s3/download.js';
import type { Reporter } from '../ui/reporter.js';
import type { PipelineTarget } from './target.js';

export interface Downloads {
  dir: string;
  files: number;
  bytes: number;
  errors: { key: string; error: string }[];
  index?: string;
}

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
  reporter: Reporter,
  signal?: AbortSignal,
): Promise<Downloads> {
  const limit = pLimit(8);
  const downloads: Downloads = { dir, files: 0, bytes: 0, errors: [] };
  const jobs = plans.flatMap((p) => p.variants);
  reporter.start(jobs.length, 'downloading', 'items', 'variants');
  await Promise.all(
    jobs.map((v) =>
      limit(async () => {
        try {
          const { bytes } = await downloadObject(target.s3, target.destBucket, v.key, dir, signal, v.path);
          downloads.files++;
          downloads.bytes += bytes;
          reporter.step('', v.path);
        } catch (err) {
          downloads.errors.push({ key: v.key, error: (err as Error).message });
          reporter.error(`error downloading ${v.key}: ${(err as Error).message}`);
        }
      }),
    ),
  );
  reporter.stop();
  const index = path.join(dir, 'index.json');
  const doc = { files: plans.map((p) => ({ file: p.file, source: p.source, variants: p.variants.map(({ name, path: file, key, url, width, height, format, bytes }) => ({ name, file, key, ...(url && { url }), width, height, format, bytes })) })) };
  await writeFileAtomic(index, `${JSON.stringify(doc, null, 2)}\n`);
  downloads.index = index;
  return downloads;
}
