// One handler → one ESM file with esbuild. Everything is bundled, the AWS SDK included (the
// exact versions from package-lock.json that the local stack runs, not whichever SDK the Lambda
// runtime ships); only sharp stays outside, as it loads a native binary that must match the
// Lambda's architecture (see sharp-stage.ts).
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { projectRoot } from './paths.js';
import type { HandlerName, LambdaRuntime } from '../core/pipeline-defaults.js';
import { BUNDLE_FILE, NODE_TARGET } from './targets.js';

/** Packages resolved at run time from the zip's node_modules instead of being bundled. */
const EXTERNAL_PACKAGES = ['sharp'];

export interface Bundle {
  code: Buffer;
  /** Which of EXTERNAL_PACKAGES the handler actually imports (presign needs none). */
  externals: string[];
  /** The handler's source file, relative to the project. */
  entry: string;
  /** Source files bundled. */
  inputs: number;
}

/** The handler's TypeScript source, or its compiled JavaScript when the sources are absent. */
function handlerEntry(handler: HandlerName, root = projectRoot()): string {
  const candidates = [path.join(root, 'lambda', `${handler}.ts`), path.join(root, 'dist', 'lambda', `${handler}.js`)];
  const found = candidates.find((f) => existsSync(f));
  if (!found) throw new Error(`cannot find the ${handler} handler (looked for ${candidates.join(', ')})`);
  return found;
}

export async function bundleHandler(handler: HandlerName, runtime: LambdaRuntime, root = projectRoot()): Promise<Bundle> {
  const entry = handlerEntry(handler, root);
  const result = await esbuild.build({
    entryPoints: [entry],
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: NODE_TARGET[runtime],
    outfile: BUNDLE_FILE,
    write: false,
    external: EXTERNAL_PACKAGES,
    // Prefer the SDK's ES module builds: they tree-shake, so the bundle carries only what is used.
    mainFields: ['module', 'main'],
    minify: true,
    legalComments: 'none',
    metafile: true,
    logLevel: 'silent',
    // CommonJS code inside an ESM bundle calls require() and reads __dirname (libheif-js's
    // Emscripten loader does, as soon as it starts under Node: every HEIC failed without it);
    // give it real ones, of index.mjs.
    banner: {
      js: "import{createRequire as __imgpipeCreateRequire}from'node:module';import{dirname as __imgpipeDirname}from'node:path';import{fileURLToPath as __imgpipeFileURLToPath}from'node:url';const require=__imgpipeCreateRequire(import.meta.url);const __filename=__imgpipeFileURLToPath(import.meta.url);const __dirname=__imgpipeDirname(__filename);",
    },
  });
  const out = result.outputFiles.find((f) => f.path.endsWith(BUNDLE_FILE));
  if (!out) throw new Error('esbuild produced no output');
  const imported = new Set(Object.values(result.metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path)));
  return {
    code: Buffer.from(out.contents),
    externals: EXTERNAL_PACKAGES.filter((p) => imported.has(p)),
    entry: path.relative(root, entry),
    inputs: Object.keys(result.metafile.inputs).length,
  };
}
