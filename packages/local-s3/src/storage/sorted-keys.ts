// The keys of one bucket in S3's listing order (UTF-8 byte order), for paginated listing without
// touching the disk.

/** UTF-8 byte order = code-point order; JS compares UTF-16 units, which differs only for surrogates. */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Move surrogates (code points above U+FFFF) after U+E000–U+FFFF.
    if (x >= 0xd800) x += x <= 0xdfff ? 0x2000 : -0x800;
    if (y >= 0xd800) y += y <= 0xdfff ? 0x2000 : -0x800;
    return x - y;
  }
  return a.length - b.length;
}

export class SortedKeys {
  private keys: string[];

  constructor(initial: Iterable<string> = []) {
    this.keys = [...initial].sort(compareKeys);
  }

  get size(): number {
    return this.keys.length;
  }

  /** Index of the first key >= k (or > k when `after`). */
  private bound(k: string, after: boolean): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareKeys(this.keys[mid], k);
      if (c < 0 || (after && c === 0)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  insert(k: string): void {
    const i = this.bound(k, false);
    if (this.keys[i] !== k) this.keys.splice(i, 0, k);
  }

  remove(k: string): void {
    const i = this.bound(k, false);
    if (this.keys[i] === k) this.keys.splice(i, 1);
  }

  /** Keys from `k` on (or strictly after it), in order. */
  *from(k: string, inclusive: boolean): Generator<string> {
    for (let i = this.bound(k, !inclusive); i < this.keys.length; i++) yield this.keys[i];
  }
}
