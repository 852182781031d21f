/**
 * Scene digests for the dedupe record `Q:enqueued`, and the in-memory table they are looked up in.
 *
 * The record is a Redis string: the concatenation of one 16-byte digest per recorded scene,
 * MurmurHash3_x86_128 of the scene ID with seed DIGEST_SEED, written as h1, h2, h3, h4, each a
 * little-endian uint32 (the byte order of the reference C implementation on x86). Why not a hash
 * or set of scene IDs: inserting a million members into a Redis dict costs ≥ 0.65 s of Redis CPU
 * (allocations, cache misses), while APPENDing 16 MB to a string costs almost nothing; the
 * membership checks happen in the client, in DigestTable.
 *
 * Collisions: two different scene IDs share a digest with probability about n² / 2¹²⁹ for n
 * recorded scenes, i.e. ~1e-25 for 10 million scenes (MurmurHash3 is not cryptographic, but scene
 * IDs are not chosen by an adversary). A collision would make one scene look enqueued already.
 */

import { LastDataView } from '../protocol/last-data-view';

/** Bytes per digest in `Q:enqueued`. */
export const DIGEST_BYTES = 16;
/** 32-bit words per digest. */
export const DIGEST_WORDS = 4;
/** Seed of the scene digests. Part of the record format: changing it orphans every record. */
export const DIGEST_SEED = 0x9747b28c;

/**
 * MurmurHash3_x86_128 of `key`'s char codes taken as bytes (latin1; scene IDs are validated
 * ASCII), written to `out[off..off+3]` as h1..h4. For the few strings hashed outside the push
 * pass (e.g. the scenes of queued items for `--force`); the push pass hashes bytes in place.
 */
export function murmur3x86_128(key: string, seed: number, out: Int32Array | Uint32Array, off: number): void {
  const bytes = Buffer.from(key, 'latin1');
  murmur3x86_128Bytes(bytes, 0, bytes.length, seed, out, off);
}

const keyWords = new LastDataView();
// Math.imul through a module constant: as fast as Math.imul in the tool, and in a jest worker's vm
// context, where each lookup of the global Math is a slow call, a few hundred times faster.
const imul = Math.imul;

/**
 * MurmurHash3_x86_128 of the bytes `bytes[start..end)`, written to `out[off..off+3]` as h1..h4:
 * the push pass hashes scene IDs where they lie in the input chunk, with no string per scene.
 * Each 16-byte block is read as four little-endian words through a DataView (a third less time
 * than sixteen byte loads).
 */
export function murmur3x86_128Bytes(bytes: Uint8Array, start: number, end: number, seed: number, out: Int32Array | Uint32Array, off: number): void {
  const words = keyWords.of(bytes);
  const len = end - start;
  const nblocks = len >> 4;
  let h1 = seed | 0;
  let h2 = h1;
  let h3 = h1;
  let h4 = h1;
  const c1 = 0x239b961b;
  const c2 = 0xab0e9789;
  const c3 = 0x38b34ae5;
  const c4 = 0xa1e38b93;
  let k1: number;
  let k2: number;
  let k3: number;
  let k4: number;
  for (let b = 0; b < nblocks; b++) {
    const i = start + (b << 4);
    k1 = words.getInt32(i, true);
    k2 = words.getInt32(i + 4, true);
    k3 = words.getInt32(i + 8, true);
    k4 = words.getInt32(i + 12, true);

    k1 = imul(k1, c1); k1 = (k1 << 15) | (k1 >>> 17); k1 = imul(k1, c2); h1 ^= k1;
    h1 = (h1 << 19) | (h1 >>> 13); h1 = (h1 + h2) | 0; h1 = (imul(h1, 5) + 0x561ccd1b) | 0;
    k2 = imul(k2, c2); k2 = (k2 << 16) | (k2 >>> 16); k2 = imul(k2, c3); h2 ^= k2;
    h2 = (h2 << 17) | (h2 >>> 15); h2 = (h2 + h3) | 0; h2 = (imul(h2, 5) + 0x0bcaa747) | 0;
    k3 = imul(k3, c3); k3 = (k3 << 17) | (k3 >>> 15); k3 = imul(k3, c4); h3 ^= k3;
    h3 = (h3 << 15) | (h3 >>> 17); h3 = (h3 + h4) | 0; h3 = (imul(h3, 5) + 0x96cd1c35) | 0;
    k4 = imul(k4, c4); k4 = (k4 << 18) | (k4 >>> 14); k4 = imul(k4, c1); h4 ^= k4;
    h4 = (h4 << 13) | (h4 >>> 19); h4 = (h4 + h1) | 0; h4 = (imul(h4, 5) + 0x32ac3b17) | 0;
  }
  const t = start + (nblocks << 4);
  k1 = 0;
  k2 = 0;
  k3 = 0;
  k4 = 0;
  // The 1-15 tail bytes, as the reference's fall-through switch: byte j of the tail goes to
  // word k(1 + j/4), at bit 8 × (j % 4); a word is mixed in when it got any byte.
  const rem = len & 15;
  if (rem > 12) {
    if (rem > 14) k4 ^= bytes[t + 14] << 16;
    if (rem > 13) k4 ^= bytes[t + 13] << 8;
    k4 ^= bytes[t + 12];
    k4 = imul(k4, c4); k4 = (k4 << 18) | (k4 >>> 14); k4 = imul(k4, c1); h4 ^= k4;
  }
  if (rem > 8) {
    if (rem > 11) k3 ^= bytes[t + 11] << 24;
    if (rem > 10) k3 ^= bytes[t + 10] << 16;
    if (rem > 9) k3 ^= bytes[t + 9] << 8;
    k3 ^= bytes[t + 8];
    k3 = imul(k3, c3); k3 = (k3 << 17) | (k3 >>> 15); k3 = imul(k3, c4); h3 ^= k3;
  }
  if (rem > 4) {
    if (rem > 7) k2 ^= bytes[t + 7] << 24;
    if (rem > 6) k2 ^= bytes[t + 6] << 16;
    if (rem > 5) k2 ^= bytes[t + 5] << 8;
    k2 ^= bytes[t + 4];
    k2 = imul(k2, c2); k2 = (k2 << 16) | (k2 >>> 16); k2 = imul(k2, c3); h2 ^= k2;
  }
  if (rem > 0) {
    if (rem > 3) k1 ^= bytes[t + 3] << 24;
    if (rem > 2) k1 ^= bytes[t + 2] << 16;
    if (rem > 1) k1 ^= bytes[t + 1] << 8;
    k1 ^= bytes[t];
    k1 = imul(k1, c1); k1 = (k1 << 15) | (k1 >>> 17); k1 = imul(k1, c2); h1 ^= k1;
  }
  h1 ^= len; h2 ^= len; h3 ^= len; h4 ^= len;
  h1 = (h1 + h2) | 0; h1 = (h1 + h3) | 0; h1 = (h1 + h4) | 0;
  h2 = (h2 + h1) | 0; h3 = (h3 + h1) | 0; h4 = (h4 + h1) | 0;
  h1 = fmix32(h1); h2 = fmix32(h2); h3 = fmix32(h3); h4 = fmix32(h4);
  h1 = (h1 + h2) | 0; h1 = (h1 + h3) | 0; h1 = (h1 + h4) | 0;
  h2 = (h2 + h1) | 0; h3 = (h3 + h1) | 0; h4 = (h4 + h1) | 0;
  out[off] = h1;
  out[off + 1] = h2;
  out[off + 2] = h3;
  out[off + 3] = h4;
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** The digest of one scene ID as the 16 bytes stored in `Q:enqueued`. */
export function sceneDigest(scene: string): Buffer {
  const buf = Buffer.alloc(DIGEST_BYTES);
  const words = new Int32Array(DIGEST_WORDS);
  murmur3x86_128(scene, DIGEST_SEED, words, 0);
  for (let i = 0; i < DIGEST_WORDS; i++) buf.writeInt32LE(words[i], 4 * i);
  return buf;
}

/** What DigestTable.add found. */
export const Found = {
  /** Not in the table; now added with the "this run" bit. */
  New: 0,
  /** Present, loaded from outside this run (the record, or the pending/processing snapshot). */
  Loaded: 1,
  /** Present, added by this run: a repeat within the input. */
  ThisRun: 2,
} as const;
export type Found = (typeof Found)[keyof typeof Found];
/** The state a digest is added with. */
export type AddState = typeof Found.Loaded | typeof Found.ThisRun;

/** Largest load factor before the table doubles. */
const MAX_LOAD = 0.75;
const MIN_CAPACITY = 16;

/**
 * A set of 128-bit digests in typed arrays: open addressing with linear probing, four Int32
 * words per slot plus one state byte per slot (0 empty, else Found.Loaded or Found.ThisRun). The
 * state byte, not a reserved digest value, marks empty slots, so every digest (the all-zero one
 * too) can be stored. About 17 bytes per slot, no per-entry objects, and no more slots than the
 * expected digests need (not the next power of two): 1 million digests take 23 MB, where a JS Set
 * of 60-character strings takes several times more and costs GC time.
 */
export class DigestTable {
  private words: Int32Array;
  private states: Uint8Array;
  /** Maps h1 (0 to 2³² - 1) to a home slot (0 to capacity - 1): capacity / 2³². */
  private scale: number;
  private limit: number;
  /** Number of digests held. */
  size = 0;

  /** A table that holds `expected` digests without growing. */
  constructor(expected = 0) {
    const capacity = capacityFor(expected);
    this.words = new Int32Array(capacity * DIGEST_WORDS);
    this.states = new Uint8Array(capacity);
    this.scale = capacity / 2 ** 32;
    this.limit = Math.floor(capacity * MAX_LOAD);
  }

  /** Number of slots. */
  get capacity(): number {
    return this.states.length;
  }

  /**
   * Looks up the digest at `d[off..off+3]`; if absent, adds it with state `state` and returns
   * Found.New, else returns the state it was added with (the first add wins).
   */
  add(d: Int32Array, off: number, state: AddState): Found {
    const a = d[off];
    const b = d[off + 1];
    const c = d[off + 2];
    const e = d[off + 3];
    const words = this.words;
    const states = this.states;
    const last = states.length - 1;
    // h1 is well mixed by the final fmix rounds: scaled to the capacity, it picks the slot.
    for (let slot = ((a >>> 0) * this.scale) | 0; ; slot = slot === last ? 0 : slot + 1) {
      const s = states[slot];
      if (s === 0) {
        if (this.size >= this.limit) {
          this.grow();
          return this.add(d, off, state);
        }
        const w = slot << 2;
        words[w] = a;
        words[w + 1] = b;
        words[w + 2] = c;
        words[w + 3] = e;
        states[slot] = state;
        this.size += 1;
        return Found.New;
      }
      const w = slot << 2;
      if (words[w] === a && words[w + 1] === b && words[w + 2] === c && words[w + 3] === e) return s as Found;
    }
  }

  /** The state of the digest at `d[off..off+3]`, or Found.New (0) when absent. Read-only. */
  get(d: Int32Array, off: number): Found {
    const a = d[off];
    const words = this.words;
    const states = this.states;
    const last = states.length - 1;
    for (let slot = ((a >>> 0) * this.scale) | 0; ; slot = slot === last ? 0 : slot + 1) {
      const s = states[slot];
      if (s === 0) return Found.New;
      const w = slot << 2;
      if (words[w] === a && words[w + 1] === d[off + 1] && words[w + 2] === d[off + 2] && words[w + 3] === d[off + 3]) return s as Found;
    }
  }

  /**
   * Adds every digest of `bytes` (a whole number of 16-byte digests, as read from the record)
   * with state Found.Loaded. Duplicates (a scene re-recorded after --force) are just present.
   */
  addRecord(bytes: Uint8Array): void {
    if (bytes.length % DIGEST_BYTES !== 0) throw new Error(`record chunk of ${bytes.length} bytes is not a whole number of ${DIGEST_BYTES}-byte digests`);
    // Int32Array needs 4-byte alignment; reply buffers may be slices at any offset.
    const aligned = bytes.byteOffset % 4 === 0 ? bytes : Uint8Array.prototype.slice.call(bytes);
    const view = new Int32Array(aligned.buffer, aligned.byteOffset, aligned.length >> 2);
    if (!LITTLE_ENDIAN) for (let i = 0; i < view.length; i++) view[i] = swap32(view[i]);
    for (let off = 0; off < view.length; off += DIGEST_WORDS) this.add(view, off, Found.Loaded);
  }

  private grow(): void {
    const oldWords = this.words;
    const oldStates = this.states;
    const capacity = oldStates.length * 2;
    this.words = new Int32Array(capacity * DIGEST_WORDS);
    this.states = new Uint8Array(capacity);
    this.scale = capacity / 2 ** 32;
    this.limit = Math.floor(capacity * MAX_LOAD);
    this.size = 0;
    for (let slot = 0; slot < oldStates.length; slot++) {
      if (oldStates[slot] !== 0) this.add(oldWords, slot << 2, oldStates[slot] as AddState);
    }
  }
}

/** The fewest slots (at least MIN_CAPACITY) that hold `expected` digests within MAX_LOAD. */
export function capacityFor(expected: number): number {
  return Math.max(MIN_CAPACITY, Math.ceil(expected / MAX_LOAD));
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function swap32(x: number): number {
  return ((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24);
}

/**
 * Writes the digests `d[0..4n)` as the record's bytes (little-endian words) into a new Buffer,
 * without a copy on little-endian machines (the Buffer shares `d`'s memory).
 */
export function digestBytes(d: Int32Array, n: number): Buffer {
  if (LITTLE_ENDIAN) return Buffer.from(d.buffer, d.byteOffset, n * DIGEST_BYTES);
  const buf = Buffer.alloc(n * DIGEST_BYTES);
  for (let i = 0; i < n * DIGEST_WORDS; i++) buf.writeInt32LE(d[i], 4 * i);
  return buf;
}
