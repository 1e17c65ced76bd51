// `imgpipe upload DIR | head -3`: the reader leaving ends what can be told, never the work. Once a
// stream's reader has gone (EPIPE), its later writes are dropped, and the run carries on to the
// end: every file stored and recorded, the ledger and manifest written, the exit code the work
// earned. (Exiting at the first EPIPE, as this did, left 3 of 20 files unsent and the ledger
// behind, and exited 0 or 1 by whichever file had failed first.)

/** A stream's write that drops the text and tells its callback the write is done. */
function discard(this: NodeJS.WriteStream, _chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
  const done = typeof encoding === 'function' ? encoding : callback;
  if (typeof done === 'function') process.nextTick(done as () => void);
  return true;
}

const watched = new WeakSet<NodeJS.WriteStream>();

/** Make stdout and stderr drop their writes, without an error, once their reader has gone. */
export function carryOnWhenReaderLeaves(streams: NodeJS.WriteStream[] = [process.stdout, process.stderr]): void {
  for (const stream of streams) {
    if (watched.has(stream)) continue; // main() may run more than once in a process
    watched.add(stream);
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
      // Node does not close a stdio stream on EPIPE: every later write would fail the same way.
      stream.write = discard as NodeJS.WriteStream['write'];
    });
  }
}
