import type { ChildProcess } from 'child_process';
import * as net from 'net';
import type Redis from 'ioredis';
import { exited, until } from './wait';

/** A transaction's commands as a client sends them (RESP): `*1\r\n$4\r\nexec\r\n`, in any case. */
const COMMAND_BYTES = { MULTI: '*1\r\n$5\r\nmulti\r\n', EXEC: '*1\r\n$4\r\nexec\r\n' };

/** What a relay does with its clients' commands. */
export interface RelayOptions {
  /**
   * Hold the `nth` MULTI or EXEC (counted over all clients) and everything after it, until
   * release(). E.g. the 3rd EXEC of an enqueue run: two batches have been passed on; the
   * third's RPUSH and EVAL too, and wait in Redis for an EXEC that has not come. The 2nd MULTI:
   * one batch passed on, nothing of the second.
   */
  readonly holdAt?: { readonly nth: number; readonly command: keyof typeof COMMAND_BYTES };
  /**
   * Awaited before each piece of a client's bytes is passed on: it runs between any two of the
   * client's round trips (e.g. a worker and recovery moving items between two reads of the tool).
   */
  readonly beforeEach?: () => Promise<void>;
}

/**
 * A TCP relay on a free loopback port between a client (the queue tool) and a redis-server. It
 * passes replies on as they come and commands as its options say: it catches a run at a given
 * transaction, or runs something between any two of its commands, however fast this machine is
 * and however short the run, so no run has to be long to be caught mid-way.
 */
export class RedisRelay {
  /** Starts a relay to the redis-server listening on loopback `port`. */
  static async start(port: number, options: RelayOptions = {}): Promise<RedisRelay> {
    const relay = new RedisRelay(port, options);
    await new Promise<void>((resolve, reject) => {
      relay.server.once('error', reject);
      relay.server.listen(0, '127.0.0.1', resolve);
    });
    // A relay left open by a failed test does not keep jest from exiting.
    relay.server.unref();
    return relay;
  }

  /** Resolves once the relay holds the command of `holdAt`. */
  readonly held: Promise<void>;
  private resolveHeld!: () => void;
  /** The command held (`holdAt`), until release(). */
  private holdAt: RelayOptions['holdAt'];
  /** How many of the held command have been passed on. */
  private passed = 0;
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  /** Per client connection: passes on what it can of the bytes waiting. */
  private readonly passOns = new Set<() => void>();
  private failure: unknown;

  private constructor(
    port: number,
    private readonly options: RelayOptions,
  ) {
    this.holdAt = options.holdAt;
    this.held = new Promise((resolve) => (this.resolveHeld = resolve));
    this.server = net.createServer((client) => this.relay(client, port));
  }

  get url(): string {
    return `redis://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  /** Passes on the held command and everything after it, and from now on every command. */
  release(): void {
    this.holdAt = undefined;
    for (const passOn of this.passOns) passOn();
  }

  /**
   * Stops listening and closes every connection (what was passed on reaches Redis first);
   * resolves once they are all closed, so that none outlives the test.
   * @throws the error of `beforeEach`, if it failed (its client was disconnected then)
   */
  async close(): Promise<void> {
    const closed = [...this.sockets].map((socket) => new Promise((resolve) => socket.once('close', resolve)));
    for (const socket of this.sockets) {
      socket.end();
      // A socket paused by its pipe (its reader gone) reads on to the other side's close.
      socket.resume();
    }
    await new Promise((resolve) => this.server.close(resolve));
    await Promise.all(closed);
    if (this.failure) throw this.failure;
  }

  private relay(client: net.Socket, port: number): void {
    const upstream = net.connect(port, '127.0.0.1');
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      // A client SIGKILLed mid-write, or Redis gone: the other side is closed below.
      socket.on('error', () => undefined);
      socket.on('close', () => this.sockets.delete(socket));
    }
    upstream.pipe(client);
    // end(), not destroy(): Redis sees the client go only after every byte passed on. Unpiped
    // from the client, the upstream is paused: resume() lets it read on to Redis' close (a
    // client gone mid-reply left it open, and jest's worker with it).
    client.on('close', () => {
      this.passOns.delete(passOn);
      upstream.end();
      upstream.resume();
    });
    upstream.on('close', () => client.destroy());

    // Bytes not passed on yet: a tail that may begin the command held, or everything from it on.
    let unsent = Buffer.alloc(0);
    let holding = false;
    const passOn = (): void => {
      const holdAt = this.holdAt;
      if (holdAt === undefined) {
        holding = false;
        upstream.write(unsent);
        unsent = Buffer.alloc(0);
        return;
      }
      if (holding) return;
      const command = COMMAND_BYTES[holdAt.command];
      const text = unsent.toString('latin1').toLowerCase();
      let from = 0;
      for (let at = text.indexOf(command); at >= 0; at = text.indexOf(command, from)) {
        if (this.passed + 1 === holdAt.nth) {
          upstream.write(unsent.subarray(0, at));
          unsent = unsent.subarray(at);
          holding = true;
          this.resolveHeld();
          return;
        }
        this.passed += 1;
        from = at + command.length;
      }
      // Keep back a tail that may be the start of the command, its rest still to come.
      let keep = Math.min(command.length - 1, text.length - from);
      while (keep > 0 && !command.startsWith(text.slice(text.length - keep))) keep -= 1;
      upstream.write(unsent.subarray(0, unsent.length - keep));
      unsent = unsent.subarray(unsent.length - keep);
    };
    this.passOns.add(passOn);

    let chain = Promise.resolve();
    client.on('data', (chunk: Buffer) => {
      chain = chain
        .then(async () => {
          await this.options.beforeEach?.();
          unsent = Buffer.concat([unsent, chunk]);
          passOn();
        })
        .catch((err: unknown) => {
          this.failure ??= err;
          client.destroy();
        });
    });
  }
}

/**
 * Waits until `relay` holds the command it was told to while `child`, a run of the queue tool
 * connected through it, is running, and `ran()` shows the transactions before it have run.
 * @throws Error if the run ended before the relay held it.
 */
export async function heldMidRun(child: ChildProcess, relay: RedisRelay, ran: () => Promise<boolean>): Promise<void> {
  const ended = exited(child).then(() => true);
  if ((await Promise.race([relay.held, ended])) === true) throw new Error('the run ended before the relay held it');
  await until(ran);
}

/**
 * SIGKILLs `child`, a run of the queue tool connected through `relay`, once it is held mid-run
 * (heldMidRun), then closes the relay: the transaction held dies with the run, its commands
 * queued in Redis but never run.
 */
export async function killWhenHeld(child: ChildProcess, relay: RedisRelay, ran: () => Promise<boolean>): Promise<void> {
  try {
    await heldMidRun(child, relay, ran);
  } finally {
    child.kill('SIGKILL');
    await exited(child);
    await relay.close();
  }
}

/**
 * The most commands any client has queued in an open MULTI (CLIENT LIST's `multi`), 0 if none:
 * e.g. 2 once Redis has queued the RPUSH and EVAL of a batch whose EXEC a relay holds.
 */
export async function queuedInTransaction(redis: Redis): Promise<number> {
  const clients = (await redis.call('CLIENT', 'LIST')) as string;
  return Math.max(0, ...[...clients.matchAll(/ multi=(-?\d+)/g)].map((m) => Number(m[1])));
}
