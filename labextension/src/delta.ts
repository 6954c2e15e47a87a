/**
 * Text deltas for live code mirroring.
 *
 * The service (Python) counts positions in Unicode code points while JavaScript strings count UTF-16 units, so
 * the wire format (`DeltaOp`) is computed and applied on code-point arrays. `editRange` is the UTF-16 variant
 * used to patch a local editor model with the smallest possible change.
 */
import type { DeltaOp } from './protocol';

/**
 * The delta turning `oldText` into `newText`: a common-prefix / common-suffix diff. One edit region is
 * small, robust and is exactly what typing produces; pastes elsewhere just widen the region.
 */
export function diffText(oldText: string, newText: string): DeltaOp[] {
  const a = Array.from(oldText);
  const b = Array.from(newText);
  const r = commonEnds(a, b);
  const ops: DeltaOp[] = [];
  if (r.prefix > 0) {
    ops.push({ retain: r.prefix });
  }
  const removed = a.length - r.prefix - r.suffix;
  if (removed > 0) {
    ops.push({ delete: removed });
  }
  const inserted = b.slice(r.prefix, b.length - r.suffix).join('');
  if (inserted.length > 0) {
    ops.push({ insert: inserted });
  }
  return ops;
}

/** Apply a delta to `text`; throws `RangeError` when the delta does not fit (then wait for a full text). */
export function applyDelta(text: string, delta: DeltaOp[]): string {
  const chars = Array.from(text);
  const out: string[] = [];
  let pos = 0;
  for (const op of delta) {
    if ('retain' in op) {
      checkCount(op.retain);
      if (pos + op.retain > chars.length) {
        throw new RangeError('retain past the end of the text');
      }
      out.push(chars.slice(pos, pos + op.retain).join(''));
      pos += op.retain;
    } else if ('insert' in op) {
      if (typeof op.insert !== 'string') {
        throw new RangeError('insert is not a string');
      }
      out.push(op.insert);
    } else if ('delete' in op) {
      checkCount(op.delete);
      if (pos + op.delete > chars.length) {
        throw new RangeError('delete past the end of the text');
      }
      pos += op.delete;
    } else {
      throw new RangeError('unknown delta op');
    }
  }
  out.push(chars.slice(pos).join(''));
  return out.join('');
}

/**
 * The UTF-16 range of `oldText` to replace, and its replacement, to obtain `newText` (for editor models, which
 * index in UTF-16 units). Never splits a surrogate pair.
 */
export function editRange(oldText: string, newText: string): { start: number; end: number; value: string } {
  const max = Math.min(oldText.length, newText.length);
  let prefix = 0;
  while (prefix < max && oldText.charCodeAt(prefix) === newText.charCodeAt(prefix)) {
    prefix++;
  }
  if (prefix > 0 && isHighSurrogate(oldText.charCodeAt(prefix - 1))) {
    prefix--;
  }
  let suffix = 0;
  while (
    suffix < max - prefix &&
    oldText.charCodeAt(oldText.length - 1 - suffix) === newText.charCodeAt(newText.length - 1 - suffix)
  ) {
    suffix++;
  }
  if (suffix > 0 && isLowSurrogate(oldText.charCodeAt(oldText.length - suffix))) {
    suffix--;
  }
  return {
    start: prefix,
    end: oldText.length - suffix,
    value: newText.slice(prefix, newText.length - suffix)
  };
}

function commonEnds(a: string[], b: string[]): { prefix: number; suffix: number } {
  const max = Math.min(a.length, b.length);
  let prefix = 0;
  while (prefix < max && a[prefix] === b[prefix]) {
    prefix++;
  }
  let suffix = 0;
  while (suffix < max - prefix && a[a.length - 1 - suffix] === b[b.length - 1 - suffix]) {
    suffix++;
  }
  return { prefix, suffix };
}

function checkCount(n: unknown): void {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
    throw new RangeError('delta counts must be positive integers');
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
