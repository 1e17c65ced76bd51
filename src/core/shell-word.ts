// The one quoting rule for every command line imgpipe prints for the user to paste back
// (`watch` after Ctrl-C, `dev --aws-cli`), in one place: it was two copies of one regex.

/** A word as a POSIX shell reads it back: quoted unless it is plainly safe. */
export const shellWord = (s: string): string => (/^[\w./:@%+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
