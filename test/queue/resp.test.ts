import * as net from 'net';
import Redis from 'ioredis';
import { ItemTemplate } from '../../queue/items';
import { bulk, ItemBytes, PrebuiltCommand, RpushBatch } from '../../queue/resp';
import { useRedisServer } from '../support/redis-server';

const A = 'S2A_MSIL2A_20190812T235741_N0213_R030_T56LRR_20190813T014708';
const TEMPLATE = new ItemTemplate([['inter_dir', '/data/intermediate/']]);
const itemA = `{"in_scene":"${A}","inter_dir":"/data/intermediate/"}`;

/** The RPUSH of `scenes` built by RpushBatch, with a tiny first buffer so that it must grow. */
function rpushBytes(scenes: string[]): Buffer {
  const headerSpace = `*${100 + 2}\r\n$5\r\nRPUSH\r\n`.length;
  const batch = new RpushBatch(Buffer.from(bulk('jobS2')), new ItemBytes(TEMPLATE), headerSpace, 16);
  for (const scene of scenes) {
    const bytes = Buffer.from(`  ${scene}\n`, 'latin1');
    batch.add(bytes, 2, 2 + scene.length);
  }
  return batch.command();
}

describe('RESP encoding of a batch', () => {
  test('RpushBatch builds the exact RESP bytes of RPUSH key item…', () => {
    expect(rpushBytes([A, 'X1', A]).toString('latin1')).toBe(
      '*5\r\n$5\r\nRPUSH\r\n$5\r\njobS2\r\n' +
        `$${itemA.length}\r\n${itemA}\r\n` +
        '$51\r\n{"in_scene":"X1","inter_dir":"/data/intermediate/"}\r\n' +
        `$${itemA.length}\r\n${itemA}\r\n`,
    );
  });

  test('an empty batch is RPUSH with the key alone', () => {
    expect(rpushBytes([]).toString('latin1')).toBe('*2\r\n$5\r\nRPUSH\r\n$5\r\njobS2\r\n');
  });

  test('a batch filled again builds each command anew, whatever the scene lengths it held before', () => {
    const batch = new RpushBatch(Buffer.from(bulk('jobS2')), new ItemBytes(TEMPLATE), `*${100 + 2}\r\n$5\r\nRPUSH\r\n`.length, 400);
    const B = `S2B${A.slice(3)}`;
    const rounds = [[A, B, A], [B, A], [A, B, A, A], [A, 'X1', B], [A, A, B, A, A, A], ['X1', A], [A, `${B}_longer`, A], [B, B, B, B, B, B, B], ['', A]];
    for (const scenes of rounds) {
      batch.reset();
      for (const scene of scenes) {
        const bytes = Buffer.from(`  ${scene}\n`, 'latin1'); // each scene in its own input buffer, at an offset
        batch.add(bytes, 2, 2 + scene.length);
      }
      const items = scenes.map((scene) => TEMPLATE.item(scene));
      expect(batch.command().toString('latin1')).toBe(`*${items.length + 2}\r\n$5\r\nRPUSH\r\n$5\r\njobS2\r\n${items.map((i) => `$${i.length}\r\n${i}\r\n`).join('')}`);
    }
  });
});

describe('PrebuiltCommand with the pinned ioredis', () => {
  const fixture = useRedisServer();
  let proxy: net.Server;
  let port: number;
  /** Everything the client sent, through a proxy in front of the test redis-server. */
  let sent: Buffer[] = [];

  beforeAll(async () => {
    proxy = net.createServer((client) => {
      const upstream = net.connect(fixture.server.port, '127.0.0.1');
      client.on('data', (chunk) => {
        sent.push(chunk);
        upstream.write(chunk);
      });
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    port = (proxy.address() as net.AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise((resolve) => proxy.close(resolve));
  });

  // Command.toWritable is ioredis-internal: if an upgrade stopped calling it, other bytes than the
  // batch's would go on the wire, and this test fails.
  test('the bytes on the wire are exactly the prebuilt bytes, and Redis runs them', async () => {
    const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      await redis.connect();
      await redis.ping(); // the connection's set-up commands are sent before this reply arrives
      sent = [];
      const bytes = rpushBytes([A, A, A]);
      expect(await redis.sendCommand(new PrebuiltCommand('rpush', bytes))).toBe(3);
      expect(Buffer.concat(sent).toString('latin1')).toBe(bytes.toString('latin1'));
      expect(await fixture.redis.lrange('jobS2', 0, -1)).toEqual([itemA, itemA, itemA]);
    } finally {
      redis.disconnect();
    }
  });
});
