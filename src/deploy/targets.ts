// What can be packaged: which handler, for which Lambda architecture and Node runtime.
/** The resize, the presign API, and the dead-letter queue's consumer (which only the stack wires to its queue). */
export const HANDLERS = ['resize', 'presign', 'failure-recorder'] as const;
export const ARCHES = ['x86_64', 'arm64'] as const;
// nodejs20.x is gone: Lambda stopped creating functions on it on 2026-06-01.
export const RUNTIMES = ['nodejs22.x', 'nodejs24.x'] as const;

export type HandlerName = (typeof HANDLERS)[number];
export type LambdaArch = (typeof ARCHES)[number];
export type LambdaRuntime = (typeof RUNTIMES)[number];

/** Lambda says x86_64, npm and Node say x64. */
export const NPM_CPU: Record<LambdaArch, 'x64' | 'arm64'> = { x86_64: 'x64', arm64: 'arm64' };

/** ELF e_machine of the native binaries each architecture must carry. */
export const ELF_MACHINE: Record<LambdaArch, number> = { x86_64: 62, arm64: 183 };

/** esbuild's syntax target for each runtime. */
export const NODE_TARGET: Record<LambdaRuntime, string> = { 'nodejs22.x': 'node22', 'nodejs24.x': 'node24' };

/** The bundle is index.mjs exporting `handler`. */
export const LAMBDA_HANDLER = 'index.handler';
export const BUNDLE_FILE = 'index.mjs';
