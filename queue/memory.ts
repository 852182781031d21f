/**
 * Memory headroom before an enqueue run pushes: with `maxmemory` and `noeviction` (what the
 * queue store runs), a run that fills Redis stops part-way and leaves it full, and then workers
 * cannot take or lease items. So a run first compares an estimate of what it adds with the
 * server's free memory (INFO memory), and refuses, pushing nothing, when it does not fit.
 */
import type Redis from 'ioredis';
import { CliError } from './errors';
import { groupDigits } from './terminal';

/** Redis's cost of one list entry and its share of list nodes beyond the item's bytes (measured ~11-20 B). */
export const LIST_ENTRY_OVERHEAD_BYTES = 24;

/** The estimate is multiplied by this before it is compared with the free memory. */
export const MEMORY_MARGIN = 1.25;

/** What a run will add to Redis, at most. */
export interface MemoryEstimate {
  /** Items the run may push (every valid scene, as if none were known). */
  readonly items: number;
  /** Bytes of one item (a typical scene ID's). */
  readonly itemBytes: number;
  /** Bytes of one record entry (a digest). */
  readonly recordBytes: number;
  /** Further bytes held during the run (the --force snapshot copies). */
  readonly extraBytes?: number;
}

/** Bytes a run needs, margin included. */
export function neededBytes(e: MemoryEstimate): number {
  return Math.ceil((e.items * (e.itemBytes + LIST_ENTRY_OVERHEAD_BYTES + e.recordBytes) + (e.extraBytes ?? 0)) * MEMORY_MARGIN);
}

/** `maxmemory` and `used_memory` of an `INFO memory` reply (0 maxmemory: no limit). */
export function parseMemoryInfo(info: string): { maxmemory: number; used: number; policy: string } {
  const field = (name: string): string | undefined => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
  return { maxmemory: Number(field('maxmemory') ?? 0), used: Number(field('used_memory') ?? 0), policy: field('maxmemory_policy') ?? '' };
}

const mb = (bytes: number): string => `${(bytes / (1024 * 1024)).toFixed(1)} MB`;

/**
 * Refuses (CliError, exit 1) a run whose estimate does not fit under the server's maxmemory.
 * A server without maxmemory, or one that evicts keys anyway, is not checked.
 */
export async function checkMemoryHeadroom(redis: Redis, estimate: MemoryEstimate): Promise<void> {
  const { maxmemory, used, policy } = parseMemoryInfo(await redis.info('memory'));
  if (maxmemory <= 0) return;
  const needed = neededBytes(estimate);
  const free = Math.max(0, maxmemory - used);
  if (needed <= free) return;
  throw new CliError(
    `Redis has ${mb(free)} free of its maxmemory ${mb(maxmemory)} (${mb(used)} used, policy ${policy}); ` +
      `this run needs about ${mb(needed)} (${groupDigits(estimate.items)} items of ~${estimate.itemBytes} bytes, ${Math.round((MEMORY_MARGIN - 1) * 100)} % margin), ` +
      `${mb(needed - free)} more than is free. Raise Redis's maxmemory (and its memory limit), let workers drain the queue, or enqueue the input in parts`,
  );
}
