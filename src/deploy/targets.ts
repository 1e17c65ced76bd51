// What a package is built for: npm's and ELF's names for each architecture, esbuild's target for
// each runtime, and the bundle's file and entry (the choices themselves are in src/core/pipeline-defaults.ts).
import type { LambdaArch, LambdaRuntime } from '../core/pipeline-defaults.js';

/** Lambda says x86_64, npm and Node say x64. */
export const NPM_CPU: Record<LambdaArch, 'x64' | 'arm64'> = { x86_64: 'x64', arm64: 'arm64' };

/** ELF e_machine of the native binaries each architecture must carry. */
export const ELF_MACHINE: Record<LambdaArch, number> = { x86_64: 62, arm64: 183 };

/** esbuild's syntax target for each runtime. */
export const NODE_TARGET: Record<LambdaRuntime, string> = { 'nodejs22.x': 'node22', 'nodejs24.x': 'node24' };

/** The bundle is index.mjs exporting `handler`. */
export const LAMBDA_HANDLER = 'index.handler';
export const BUNDLE_FILE = 'index.mjs';
