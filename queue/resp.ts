/**
 * RESP encoding of the push's batches, written straight to ioredis's socket.
 *
 * PrebuiltCommand overrides ioredis's internal `Command.toWritable`, which is why package.json
 * pins ioredis to one minor version (test/queue/resp.test.ts checks the bytes on the wire).
 */
import { Command } from 'ioredis';
import { LastDataView } from '../protocol/last-data-view';
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
 * The array header needs the item count, known only at the end: space for the longest header is
 * reserved at the front, and the header written right-aligned into it by `command()`.
 *
 * A batch is reused (`reset()`) once Redis has answered the command it built, and what is the
 * same in every item stays in place: while items have one scene length (a workflow's scene IDs
 * nearly always do), the item heads and tails of earlier use are left where they are and only
 * the scene bytes are copied. Scene bytes are copied four at a time through DataViews: `buf.copy`
 * of a sub-range (Node 20) creates a Uint8Array view per call, and a byte loop costs ~15 times
 * more loads.
 */
export class RpushBatch {
  private buffer: Buffer;
  private view: DataView;
  /** Where the items start: after the reserved header space and the key. */
  private readonly itemsStart: number;
  private pos: number;
  /** Items added. */
  count = 0;
  // One-entry cache of the item head: scene IDs of a workflow nearly always have one length.
  private headSceneBytes = -1;
  private head: Buffer = Buffer.alloc(0);
  /** The first `templated` items in the buffer have their head and tail for scenes of `templateSceneBytes`. */
  private templated = 0;
  private templateSceneBytes = -1;
  /** Whether every item so far has a scene of `templateSceneBytes`, so that items lie where the template's do. */
  private uniform = true;
  private readonly input = new LastDataView();

  constructor(
    key: Buffer,
    private readonly itemTemplate: ItemBytes,
    private readonly headerSpace: number,
    capacity: number,
  ) {
    this.buffer = Buffer.allocUnsafe(Math.max(capacity, headerSpace + key.length));
    this.view = viewOf(this.buffer);
    key.copy(this.buffer, headerSpace);
    this.itemsStart = headerSpace + key.length;
    this.pos = this.itemsStart;
  }

  /** Bytes the buffer holds; a new batch starts with this capacity, so it rarely grows. */
  get capacity(): number {
    return this.buffer.length;
  }

  /** Empties the batch for new items; call only once the last command() is no longer used. */
  reset(): void {
    this.pos = this.itemsStart;
    this.count = 0;
    this.uniform = true;
  }

  /** Appends the item of the scene `bytes[start..end)`. */
  add(bytes: Uint8Array, start: number, end: number): void {
    const sceneBytes = end - start;
    if (sceneBytes !== this.headSceneBytes) {
      this.headSceneBytes = sceneBytes;
      this.head = this.itemTemplate.head(sceneBytes);
    }
    const head = this.head;
    const tail = this.itemTemplate.tail;
    const itemBytes = head.length + sceneBytes + tail.length;
    if (this.pos + itemBytes > this.buffer.length) this.grow(itemBytes);
    if (this.count === 0 && this.templated === 0) this.templateSceneBytes = sceneBytes;
    const sameLayout = this.uniform && sceneBytes === this.templateSceneBytes;
    if (!(sameLayout && this.count < this.templated)) {
      this.buffer.set(head, this.pos);
      this.buffer.set(tail, this.pos + head.length + sceneBytes);
      if (sameLayout && this.count === this.templated) this.templated += 1;
      else this.templated = Math.min(this.templated, this.count); // the template's items after this one have moved
    }
    this.uniform = sameLayout;
    this.copyScene(bytes, start, sceneBytes, this.pos + head.length);
    this.pos += itemBytes;
    this.count += 1;
  }

  private copyScene(bytes: Uint8Array, start: number, length: number, at: number): void {
    const from = this.input.of(bytes);
    const to = this.view;
    let i = 0;
    for (; i + 4 <= length; i += 4) to.setInt32(at + i, from.getInt32(start + i));
    for (; i < length; i++) this.buffer[at + i] = bytes[start + i];
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
    this.view = viewOf(bigger);
  }
}

const viewOf = (bytes: Uint8Array): DataView => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

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
