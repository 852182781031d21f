/**
 * RESP encoding of the push's batches, written straight to ioredis's socket.
 *
 * PrebuiltCommand overrides ioredis's internal `Command.toWritable`, which is why package.json
 * pins ioredis to one minor version (test/queue/resp.test.ts checks the bytes on the wire).
 */
import { Command } from 'ioredis';
import type { ItemTemplate } from './items';

/**
 * A command whose RESP bytes the caller built in one Buffer. ioredis's generic encoder handles
 * a command with a Buffer argument by measuring and copying every argument three times; a batch
 * of 5,000 items is cheaper built directly as RESP bytes (RpushBatch).
 */
export class PrebuiltCommand extends Command {
  constructor(
    name: string,
    private readonly bytes: Buffer,
  ) {
    super(name, []);
  }

  override toWritable(): Buffer {
    return this.bytes;
  }
}

/** `$<byte length>\r\n<value>\r\n`, one RESP bulk string. */
export function bulk(value: string): string {
  return `$${Buffer.byteLength(value)}\r\n${value}\r\n`;
}

/**
 * The RPUSH command of one batch, built as RESP bytes in one Buffer:
 * `*<n+2>\r\n$5\r\nRPUSH\r\n$<len>\r\n<Q>\r\n`, then per item `$<len>\r\n<prefix><scene><suffix>\r\n`.
 * Each item is three copies (pre-encoded head, the scene's bytes from the input, pre-encoded
 * tail), with no string per item. Whole head and tail Buffers are copied with `set` (a V8
 * builtin); the scene's ~60 bytes with a plain loop, because `buf.copy` of a sub-range (Node
 * 20) creates a Uint8Array view per call: 180 ms of a 1M-scene run, against ~10 ms for the loop. The array header needs the item count, known only at the end:
 * space for the longest header is reserved at the front, and the header written right-aligned
 * into it by `command()`.
 */
export class RpushBatch {
  private buffer: Buffer;
  private pos: number;
  /** Items added. */
  count = 0;
  // One-entry cache of the item head: scene IDs of a workflow nearly always have one length.
  private headSceneBytes = -1;
  private head: Buffer = Buffer.alloc(0);

  constructor(
    private readonly key: Buffer,
    private readonly itemTemplate: ItemBytes,
    private readonly headerSpace: number,
    capacity: number,
  ) {
    this.buffer = Buffer.allocUnsafe(Math.max(capacity, headerSpace + key.length));
    this.pos = headerSpace;
    this.key.copy(this.buffer, this.pos);
    this.pos += this.key.length;
  }

  /** Bytes the buffer holds; the next batch starts with this capacity, so it rarely grows. */
  get capacity(): number {
    return this.buffer.length;
  }

  /** Appends the item of the scene `bytes[start..end)`. */
  add(bytes: Buffer, start: number, end: number): void {
    const sceneBytes = end - start;
    if (sceneBytes !== this.headSceneBytes) {
      this.headSceneBytes = sceneBytes;
      this.head = this.itemTemplate.head(sceneBytes);
    }
    const head = this.head;
    const tail = this.itemTemplate.tail;
    if (this.pos + head.length + sceneBytes + tail.length > this.buffer.length) this.grow(head.length + sceneBytes + tail.length);
    const buffer = this.buffer;
    let pos = this.pos;
    buffer.set(head, pos);
    pos += head.length;
    for (let i = start; i < end; i++) buffer[pos++] = bytes[i];
    buffer.set(tail, pos);
    this.pos = pos + tail.length;
    this.count += 1;
  }

  /** The whole command: the header written in front of the key and items. */
  command(): Buffer {
    const header = Buffer.from(`*${this.count + 2}\r\n$5\r\nRPUSH\r\n`);
    const from = this.headerSpace - header.length;
    header.copy(this.buffer, from);
    return this.buffer.subarray(from, this.pos);
  }

  private grow(needed: number): void {
    const bigger = Buffer.allocUnsafe(Math.max(2 * this.buffer.length, this.pos + needed));
    this.buffer.copy(bigger, 0, 0, this.pos);
    this.buffer = bigger;
  }
}

/** The pre-encoded parts of the items of one template around the scene's bytes. */
export class ItemBytes {
  private readonly prefix: Buffer;
  /** `<suffix>\r\n`: the item's end and the RESP bulk string's end. */
  readonly tail: Buffer;

  constructor(template: ItemTemplate) {
    this.prefix = Buffer.from(template.prefix);
    this.tail = Buffer.from(template.suffix + '\r\n');
  }

  /** `$<item bytes>\r\n<prefix>`: the part before a scene of `sceneBytes` bytes. */
  head(sceneBytes: number): Buffer {
    const itemBytes = this.prefix.length + sceneBytes + this.tail.length - 2;
    return Buffer.concat([Buffer.from(`$${itemBytes}\r\n`), this.prefix]);
  }
}

/** The end of a RESP bulk string. */
export const CRLF = Buffer.from('\r\n');
