import { createHash } from 'crypto';
import { readLuaInclude } from '../../protocol/lua';
import { useRedisServer } from '../support/redis-server';

// Runs the SHA-224 include (protocol/lua/includes/sha224.lua), unchanged, inside a real
// redis-server: a test-only wrapper appends one line calling it.
const WRAPPER = `${readLuaInclude('sha224')}\nreturn sha224_hex(ARGV[1])`;

const fixture = useRedisServer();

const luaSha224 = async (bytes: Buffer) => (await fixture.redis.eval(WRAPPER, 0, bytes)) as string;
const nodeSha224 = (bytes: Buffer) => createHash('sha224').update(bytes).digest('hex');

test('known answers (FIPS 180-4 examples)', async () => {
  expect(await luaSha224(Buffer.from(''))).toBe('d14a028c2a3a2bc9476102bb288234c415a2b01f828ea62ac5b3e42f');
  expect(await luaSha224(Buffer.from('abc'))).toBe('23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7');
  expect(await luaSha224(Buffer.from('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))).toBe(
    '75388b16512776cc5dba5da1fd890150b0c6455cb4f58b1952522525',
  );
});

// Around the padding boundaries (55/56 bytes: length fits / needs a second block; 64: exact block).
const LENGTHS = [0, 1, 3, 55, 56, 57, 63, 64, 65, 111, 112, 119, 120, 127, 128, 129, 1000, 4096, 100_000];

test.each(LENGTHS)('ASCII of length %i matches Node crypto', async (n) => {
  const bytes = Buffer.from('abcdefghijklmnopqrstuvwxyz0123456789'.repeat(Math.ceil(n / 36) + 1).slice(0, n));
  expect(await luaSha224(bytes)).toBe(nodeSha224(bytes));
});

test('every length 0..200 of pseudo-random binary bytes (incl. NUL, 0x80, 0xFF) matches Node crypto', async () => {
  let seed = createHash('sha256').update('seed').digest();
  let pool = Buffer.alloc(0);
  while (pool.length < 200) {
    seed = createHash('sha256').update(seed).digest();
    pool = Buffer.concat([pool, seed]);
  }
  pool[0] = 0x00;
  pool[1] = 0x80;
  pool[2] = 0xff;
  for (let n = 0; n <= 200; n++) {
    const bytes = pool.subarray(0, n);
    expect([n, await luaSha224(bytes)]).toEqual([n, nodeSha224(bytes)]);
  }
});

test.each([
  ['UTF-8 multi-byte', 'Ünïcødé — 東京 🛰️ Sentinel-2 ñ'],
  ['every byte value', Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString('latin1')],
  ['typical S2 item', '{"in_scene":"S2A_MSIL2A_20190812T235741_N0213_R030_T56LRR_20190813T014708","inter_dir":"/data/intermediate/"}'],
  ['S2 item with all fields', JSON.stringify({
    in_scene: 'S2B_MSIL1C_20210101T000000_N0209_R143_T01CDH_20210101T010101',
    s3_bucket: 'my-bucket', s3_dir: 'ard/s2/', inter_dir: '/data/intermediate/', prodlevel: 'L1C',
  })],
])('%s matches Node crypto of the same bytes', async (_name, text) => {
  const bytes = _name === 'every byte value' ? Buffer.from(text, 'latin1') : Buffer.from(text, 'utf8');
  expect(await luaSha224(bytes)).toBe(nodeSha224(bytes));
});
