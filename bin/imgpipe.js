#!/bin/sh
':' //; v8=; case "$1" in dev|upload) v8=--initial-old-space-size=64;; esac; exec /usr/bin/env MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-1}" node $v8 "$0" "$@"
// ^ Read by sh as a no-op then an exec, by Node as a string and a comment: run as a command,
// this file re-executes itself under Node with MALLOC_ARENA_MAX set, in one process.
// glibc's malloc gives each libvips worker thread an arena of its own and fragments them; it
// must be set before the process starts. On the 20-photo corpus: ~500 MB peak RSS by default,
// 268 MB with MALLOC_ARENA_MAX=1, at the same speed (bench/README.md).
// --initial-old-space-size, for the commands that may run the local stack in this process: V8
// counts Buffers made since its last full GC against the old generation's limit, which starts
// near 38 MB, and the stack churns ~10 MB of Buffers per photo, so every photo set off a full
// mark-compact. From 64 MB the scavenger frees them (the stack serving 500 uploads and their
// resizes: 15.8 -> 10.6 s of CPU). Not for resize-local: 3 % less CPU there, 13 MB more peak RSS.
//
// Then: load the built CLI (`npm run build`, run by `prepare` on install).

// The AWS SDK warns in seven lines on every run under Node 20 that its releases after January
// 2027 need Node 22; README's quick start says so once, with what to do.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { main } = await import('../dist/src/cli/main.js');
await main(process.argv);
