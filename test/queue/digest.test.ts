/**
 * Unit tests of the dedupe record's digests (MurmurHash3_x86_128) and of the client-side digest
 * table, plus the push pass's file-unchanged check.
 */
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { SENTINEL_2 } from '../../protocol/workflows';
import { capacityFor, DIGEST_SEED, DigestTable, digestBytes, Found, murmur3x86_128, murmur3x86_128Bytes, sceneDigest } from '../../queue/digest';
import { sceneProblem } from '../../queue/items';
import { ChunkChecksums, readSceneFile, READ_CHUNK_BYTES } from '../../queue/scene-lines';

const hex = (words: Int32Array): string[] => Array.from(words, (w) => (w >>> 0).toString(16).padStart(8, '0'));

function mm3(key: string, seed: number): string[] {
  const out = new Int32Array(4);
  murmur3x86_128(key, seed, out, 0);
  return hex(out);
}

/** murmur3x86_128Bytes of `key`'s latin1 bytes, placed between other bytes of a larger Buffer. */
function mm3Bytes(key: string, seed: number): string[] {
  const bytes = Buffer.concat([Buffer.from('junk\n'), Buffer.from(key, 'latin1'), Buffer.from('\nmore')]);
  const out = new Int32Array(4);
  murmur3x86_128Bytes(bytes, 5, 5 + key.length, seed, out, 0);
  return hex(out);
}

/** A random string of `length` printable ASCII characters. */
function randomAscii(length: number): string {
  return Array.from({ length }, () => String.fromCharCode(0x20 + Math.floor(Math.random() * 95))).join('');
}

describe('MurmurHash3_x86_128', () => {
  // Published vectors of MurmurHash3_x86_128 as h1..h4 (Dovecot's test-murmurhash3.c, the
  // x86 ones), covering empty input, seeds, every tail path and several 16-byte blocks.
  test.each([
    ['', 0x00000000, ['00000000', '00000000', '00000000', '00000000']],
    ['', 0x00000001, ['88c4adec', '54d201b9', '54d201b9', '54d201b9']],
    ['', 0xffffffff, ['051e08a9', '989d49f7', '989d49f7', '989d49f7']],
    ['\0\0\0\0', 0x00000000, ['cc066f1f', '9e517840', '9e517840', '9e517840']],
    ['aaaa', 0x9747b28c, ['36804cef', '2a61c224', '2a61c224', '2a61c224']],
    ['aaa', 0x9747b28c, ['838389be', '9aad7f88', '9aad7f88', '9aad7f88']],
    ['aa', 0x9747b28c, ['dfbe4a86', '4a9c350b', '4a9c350b', '4a9c350b']],
    ['a', 0x9747b28c, ['084ef944', '21a1186e', '21a1186e', '21a1186e']],
    ['abcd', 0x9747b28c, ['4795c529', 'cec1885e', 'cec1885e', 'cec1885e']],
    ['abc', 0x9747b28c, ['d6359eaf', '48fc3ac3', '48fc3ac3', '48fc3ac3']],
    ['ab', 0x9747b28c, ['3837d795', 'c7fe5896', 'c7fe5896', 'c7fe5896']],
    ['Hello, world!', 0x9747b28c, ['756d5460', 'bb872216', 'b7d48b7c', '53c8c636']],
    ['\xcf\x80'.repeat(8), 0x9747b28c, ['af2ad325', '3a74df88', '38cc7534', 'f197cc0d']], // 8 × U+03C0 as UTF-8 bytes
    ['a'.repeat(256), 0x9747b28c, ['d3f2b7bb', 'f666c0cc', 'd4a40060', '5ec8d32a']],
  ])('%j with seed %d', (key, seed, expected) => {
    expect(mm3(key, seed)).toEqual(expected);
    expect(mm3Bytes(key, seed)).toEqual(expected); // the push pass's byte version
  });

  test("the byte version gives the string version's digests (same record format) on random scene IDs and ASCII", () => {
    const keys = [
      ...Array.from({ length: 300 }, (_, i) => randomAscii(i % 100)), // every tail length, several blocks
      ...Array.from({ length: 300 }, () => {
        const d = (n: number): string => String(Math.floor(Math.random() * 10 ** n)).padStart(n, '0');
        return `S2${'ABC'[Math.floor(Math.random() * 3)]}_MSIL2A_${d(8)}T${d(6)}_N${d(4)}_R${d(3)}_T${d(2)}LRR_${d(8)}T${d(6)}`;
      }),
    ];
    for (const key of keys) expect(mm3Bytes(key, DIGEST_SEED)).toEqual(mm3(key, DIGEST_SEED));
  });

  test("SMHasher's verification value 0xB3ECE62A (keys of length 0-255, seeds 256-i, hash of the hashes)", () => {
    const hashes = new Int32Array(256 * 4);
    let key = '';
    for (let i = 0; i < 256; i++) {
      murmur3x86_128(key, 256 - i, hashes, 4 * i);
      key += String.fromCharCode(i);
    }
    const bytes = Buffer.from(hashes.buffer); // little-endian words, as the reference's output on x86
    const final = new Int32Array(4);
    murmur3x86_128(bytes.toString('latin1'), 0, final, 0);
    expect(final[0] >>> 0).toBe(0xb3ece62a);
  });

  test('scene digests: seed 0x9747b28c, h1..h4 as little-endian bytes', () => {
    const scene = 'S2A_MSIL2A_20190812T235741_N0213_R030_T56LRR_20190813T014708';
    const words = new Int32Array(4);
    murmur3x86_128(scene, DIGEST_SEED, words, 0);
    const digest = sceneDigest(scene);
    expect(digest.length).toBe(16);
    expect([0, 1, 2, 3].map((i) => digest.readInt32LE(4 * i))).toEqual(Array.from(words));
    expect(digestBytes(words, 1)).toEqual(digest);
  });
});

/** A digest whose four words are given (h1 picks the slot). */
const d = (...words: number[]): Int32Array => Int32Array.from(words);

describe('DigestTable', () => {
  test('add: new, then a repeat of this run, vs a digest loaded from the record', () => {
    const table = new DigestTable(10);
    expect(table.add(d(1, 2, 3, 4), 0, Found.ThisRun)).toBe(Found.New);
    expect(table.add(d(1, 2, 3, 4), 0, Found.ThisRun)).toBe(Found.ThisRun);
    expect(table.add(d(5, 6, 7, 8), 0, Found.Loaded)).toBe(Found.New);
    expect(table.add(d(5, 6, 7, 8), 0, Found.ThisRun)).toBe(Found.Loaded); // the first add's state stays
    expect(table.get(d(1, 2, 3, 4), 0)).toBe(Found.ThisRun);
    expect(table.get(d(1, 2, 3, 5), 0)).toBe(Found.New); // differs in the last word only
    expect(table.size).toBe(2);
  });

  test('colliding slots (same h1) are told apart by each of the other words', () => {
    const table = new DigestTable(16);
    const variants = [d(7, 0, 0, 0), d(7, 1, 0, 0), d(7, 0, 1, 0), d(7, 0, 0, 1), d(7, 1, 1, 1)];
    for (const v of variants) expect(table.add(v, 0, Found.ThisRun)).toBe(Found.New);
    for (const v of variants) expect(table.add(v, 0, Found.ThisRun)).toBe(Found.ThisRun);
    for (const v of variants) expect(table.get(v, 0)).toBe(Found.ThisRun);
    expect(table.get(d(7, 2, 0, 0), 0)).toBe(Found.New);
    expect(table.size).toBe(5);
  });

  test('digests whose h1 picks the last slot wrap around to the first slots, at any capacity', () => {
    for (const expected of [10, 13, 100]) {
      const table = new DigestTable(expected);
      const last = [d(-1, 0, 0, 0), d(-1, 1, 0, 0), d(-1, 2, 0, 0), d(-2, 0, 0, 0)]; // h1 0xffffffff, 0xfffffffe
      const first = [d(0, 0, 0, 0), d(0, 1, 0, 0)]; // h1 0: slot 0, taken by then
      for (const v of [...last, ...first]) expect(table.add(v, 0, Found.Loaded)).toBe(Found.New);
      for (const v of [...last, ...first]) expect(table.get(v, 0)).toBe(Found.Loaded);
      expect(table.get(d(-1, 3, 0, 0), 0)).toBe(Found.New);
      expect(table.size).toBe(6);
    }
  });

  test('the all-zero digest is a digest like any other (empty slots are marked apart)', () => {
    const table = new DigestTable(1);
    expect(table.get(d(0, 0, 0, 0), 0)).toBe(Found.New);
    expect(table.add(d(0, 0, 0, 0), 0, Found.Loaded)).toBe(Found.New);
    expect(table.add(d(0, 0, 0, 0), 0, Found.ThisRun)).toBe(Found.Loaded);
    expect(table.size).toBe(1);
  });

  test('capacity: the fewest slots holding the expected count within 75% load, at least 16; grows past it, keeping states', () => {
    expect(capacityFor(0)).toBe(16);
    expect(capacityFor(12)).toBe(16);
    expect(capacityFor(13)).toBe(18);
    expect(capacityFor(1_000_000)).toBe(1_333_334);
    const exact = new DigestTable(1_000);
    const words = new Int32Array(4 * 1000);
    for (let i = 0; i < 1000; i++) murmur3x86_128(`scene-${i}`, DIGEST_SEED, words, 4 * i);
    for (let i = 0; i < 1000; i++) exact.add(words, 4 * i, Found.Loaded);
    expect([exact.capacity, exact.size]).toEqual([1334, 1000]); // full, without growing
    const table = new DigestTable(0);
    expect(table.capacity).toBe(16);
    for (let i = 0; i < 1000; i++) expect(table.add(words, 4 * i, i % 2 === 0 ? Found.Loaded : Found.ThisRun)).toBe(Found.New);
    expect(table.capacity).toBe(2048);
    expect(table.size).toBe(1000);
    for (let i = 0; i < 1000; i++) expect(table.get(words, 4 * i)).toBe(i % 2 === 0 ? Found.Loaded : Found.ThisRun);
  });

  test('addRecord: a record chunk at any byte offset, duplicates (re-recorded scenes) just present', () => {
    const a = sceneDigest('A');
    const b = sceneDigest('B');
    const record = Buffer.concat([Buffer.from([9]), a, b, a]).subarray(1); // not 4-byte aligned
    const table = new DigestTable(0);
    table.addRecord(record);
    expect(table.size).toBe(2);
    const words = new Int32Array(4);
    for (const scene of ['A', 'B']) {
      murmur3x86_128(scene, DIGEST_SEED, words, 0);
      expect(table.get(words, 0)).toBe(Found.Loaded);
    }
    murmur3x86_128('C', DIGEST_SEED, words, 0);
    expect(table.get(words, 0)).toBe(Found.New);
    expect(() => table.addRecord(Buffer.alloc(17))).toThrow('record chunk of 17 bytes is not a whole number of 16-byte digests');
  });
});

describe('items are printable ASCII', () => {
  test('a scene ID matching a rule but not printable ASCII would be refused', () => {
    const loose = { ...SENTINEL_2, sceneId: { ...SENTINEL_2.sceneId, pattern: /^.+$/, valid: undefined } }; // `valid` states the whole rule
    expect(sceneProblem(loose, 'caf\u00e9')).toBe("'caf\u00e9' contains characters that need escaping in JSON or are not printable ASCII");
    expect(sceneProblem(loose, 'a"b')).toBe(`'a"b' contains characters that need escaping in JSON or are not printable ASCII`);
    expect(sceneProblem(loose, 'plain_ID-1')).toBeUndefined();
  });
});

describe('ChunkChecksums', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ard-chunks-'));

  async function pass(file: string, options: Parameters<typeof readSceneFile>[1]): Promise<number> {
    let n = 0;
    for await (const chunk of readSceneFile(file, options)) n += chunk.length;
    return n;
  }

  test('passes an unchanged file, refuses one changed, grown or shortened between the passes', async () => {
    const file = path.join(dir, 'scenes.txt');
    const lines = Array.from({ length: 3000 }, (_, i) => `scene-${String(i).padStart(40, '0')}`);
    writeFileSync(file, lines.join('\n') + '\n');
    expect(lines.join('\n').length).toBeGreaterThan(2 * READ_CHUNK_BYTES); // several chunks
    const changed = () => new Error('changed');
    const check = async (content: string): Promise<number> => {
      const sums = new ChunkChecksums();
      writeFileSync(file, lines.join('\n') + '\n');
      await pass(file, { onChunk: (c) => sums.record(c) });
      expect(sums.ascii).toBe(true);
      writeFileSync(file, content);
      const n = await pass(file, { encoding: 'latin1', onChunk: (c) => sums.verify(c, changed) });
      sums.verifyComplete(changed);
      return n;
    };
    await expect(check(lines.join('\n') + '\n')).resolves.toBe(3000);
    await expect(check(lines.join('\n').replace('scene-0000000000000000000000000000000000002999', 'scene-0000000000000000000000000000000000002998') + '\n')).rejects.toThrow('changed');
    await expect(check(lines.join('\n') + '\nmore\n')).rejects.toThrow('changed');
    await expect(check(lines.slice(0, 2999).join('\n') + '\n')).rejects.toThrow('changed');
  });

  test('notes a file that is not all ASCII (the push pass then decodes it as UTF-8)', async () => {
    const file = path.join(dir, 'utf8.txt');
    writeFileSync(file, '# café\nS2A\n');
    const sums = new ChunkChecksums();
    await pass(file, { onChunk: (c) => sums.record(c) });
    expect(sums.ascii).toBe(false);
  });
});
