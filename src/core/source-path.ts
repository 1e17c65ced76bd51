// Where a photo came from: its path relative to the folder that was uploaded ("album/IMG_0001.jpg"),
// so two IMG_0001.jpg of different albums stay apart on any machine, with or without the run's
// manifest. The client names it; the presign API signs it into the object as user metadata
// (`x-amz-meta-path`, so S3 refuses a PUT that drops or changes it), and the resize copies it
// into the record. It is only a label: keys never derive from it.

/** The user-metadata name (S3 adds the `x-amz-meta-` prefix). */
export const SOURCE_PATH_META = 'path';
export const SOURCE_PATH_HEADER = `x-amz-meta-${SOURCE_PATH_META}`;

/** Longest path kept, in UTF-8 bytes: S3's own key limit. */
export const MAX_SOURCE_PATH_BYTES = 1024;
/** S3 allows 2 KB of user metadata, names and values together; leave room for the name. */
const MAX_ENCODED_BYTES = 2048 - SOURCE_PATH_META.length;

/** Why `path` cannot be kept, or undefined when it can. */
export function sourcePathProblem(path: unknown): string | undefined {
  if (typeof path !== 'string' || path === '') return 'path must be a non-empty string';
  if (new TextEncoder().encode(path).length > MAX_SOURCE_PATH_BYTES) return `path must be at most ${MAX_SOURCE_PATH_BYTES} bytes`;
  if (!(path as string & { isWellFormed(): boolean }).isWellFormed()) return 'path holds a lone UTF-16 surrogate: not valid Unicode';
  if (/[\u0000-\u001f\u007f-\u009f]/.test(path)) return 'path holds a control character';
  if (path.startsWith('/') || path.includes('\\')) return "path must be relative, with '/' between folders";
  if (path.split('/').some((s) => s === '' || s === '.' || s === '..')) return "path must not hold empty, '.' or '..' segments";
  return undefined;
}

/**
 * The metadata value for `path`: header values are ASCII, so it is percent-encoded (folders'
 * slashes kept, for a readable header). Undefined when the encoding would pass S3's 2 KB limit,
 * which long non-Latin paths can: the key still holds the file's own name.
 */
export function encodeSourcePath(path: string): string | undefined {
  const encoded = encodeURIComponent(path.normalize('NFC')).replace(/%2F/g, '/');
  return encoded.length <= MAX_ENCODED_BYTES ? encoded : undefined;
}

/** The path an object's metadata holds, if it is one we would have written. */
export function decodeSourcePath(metadata: Record<string, string> | undefined): string | undefined {
  const raw = metadata?.[SOURCE_PATH_META];
  if (raw === undefined) return undefined;
  try {
    const path = decodeURIComponent(raw);
    return sourcePathProblem(path) ? undefined : path;
  } catch {
    return undefined; // not our encoding: a label we cannot read is no label
  }
}
