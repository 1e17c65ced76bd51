// Build the deployment package of one handler: the esbuild bundle as index.mjs plus, when the
// handler imports sharp, sharp's staged Linux packages for the architecture, in a deterministic
// zip within Lambda's limits.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { bundleHandler } from './bundle.js';
import { assertWithinLimits, needsS3Staging } from './limits.js';
import { stageSharp, stagedFiles } from './sharp-stage.js';
import type { HandlerName, LambdaArch, LambdaRuntime } from '../core/pipeline-defaults.js';
import { BUNDLE_FILE, ELF_MACHINE, LAMBDA_HANDLER } from './targets.js';
import { deterministicZip, type BuiltZip, type ZipEntry } from './zip.js';

export interface PackageOptions {
  handler: HandlerName;
  arch: LambdaArch;
  runtime: LambdaRuntime;
  /** Also write the zip here. */
  out?: string;
  root?: string;
  cacheDir?: string;
  /** Override of Lambda's unzipped limit (tests). */
  unzippedLimit?: number;
}

export interface LambdaPackage extends BuiltZip {
  handler: HandlerName;
  arch: LambdaArch;
  runtime: LambdaRuntime;
  /** The function's Handler setting. */
  lambdaHandler: string;
  /** The handler's source, relative to the project. */
  entry: string;
  bundleBytes: number;
  /** Always bundled: see docs/deploy.md. */
  awsSdk: 'bundled';
  /** null when the handler does not use sharp (presign). */
  sharp: { version: string; packages: string[]; fromCache: boolean } | null;
  /** Over the direct-upload limit: must go through an S3 bucket. */
  needsS3Staging: boolean;
  file?: string;
}

/** e_machine of an ELF file, or undefined when it is not one. */
function elfMachine(data: Buffer): number | undefined {
  if (data.length < 20 || data.readUInt32BE(0) !== 0x7f454c46) return undefined;
  return data[5] === 2 ? data.readUInt16BE(18) : data.readUInt16LE(18); // EI_DATA: 2 = big-endian
}

export async function buildPackage(opts: PackageOptions): Promise<LambdaPackage> {
  const bundle = await bundleHandler(opts.handler, opts.runtime, opts.root);
  const entries: ZipEntry[] = [{ name: BUNDLE_FILE, data: bundle.code }];
  let sharp: LambdaPackage['sharp'] = null;
  if (bundle.externals.includes('sharp')) {
    const staged = await stageSharp(opts.arch, { root: opts.root, cacheDir: opts.cacheDir });
    sharp = { version: staged.version, packages: staged.packages, fromCache: !staged.installed };
    for (const f of await stagedFiles(staged.nodeModules)) {
      const data = await fsp.readFile(f.file);
      const machine = elfMachine(data);
      // A binary of another architecture would load nowhere but fail only on AWS: refuse it here.
      if (machine !== undefined && machine !== ELF_MACHINE[opts.arch]) {
        throw new Error(`${f.name} is a binary for ELF machine ${machine}, not ${opts.arch}`);
      }
      entries.push({ name: f.name, data });
    }
  }
  const zip = await deterministicZip(entries);
  assertWithinLimits(zip.unzippedBytes, opts.unzippedLimit);
  let file: string | undefined;
  if (opts.out) {
    file = path.resolve(opts.out);
    await fsp.mkdir(path.dirname(file), { recursive: true });
    await fsp.writeFile(file, zip.zip);
  }
  return {
    ...zip,
    handler: opts.handler,
    arch: opts.arch,
    runtime: opts.runtime,
    lambdaHandler: LAMBDA_HANDLER,
    entry: bundle.entry,
    bundleBytes: bundle.code.length,
    awsSdk: 'bundled',
    sharp,
    needsS3Staging: needsS3Staging(zip.bytes),
    file,
  };
}
