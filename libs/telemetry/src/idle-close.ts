/**
 * When a partition that has received nothing for a while may have its open buckets closed (the
 * idle close). Quiet is not enough: a process starved of CPU, or a consumer stuck behind a slow
 * fetch, also receives nothing while the broker holds records for the partition, and closing its
 * buckets then makes those records late (dead-lettered instead of counted). So a partition closes
 * when it is quiet *and* caught up: its next offset is at the broker's end offset.
 *
 * One exception: offsets a consumer is never handed (a transactional producer's commit markers
 * sit after its last record) keep the end ahead of the next offset for good. Such a partition
 * closes once the end has not moved and nothing has arrived for `backlogIdleMs`, far longer than
 * any stall it guards against.
 */

export interface IdleClosePolicy {
  /** Nothing received for this long: the partition is quiet. */
  idleMs: number;
  /** Quiet this long with an end offset that has not moved: close even behind the end (≥ idleMs). */
  backlogIdleMs: number;
}

export interface IdlePartition {
  /** Milliseconds since the partition's last batch. */
  idleForMs: number;
  /** The next offset the partition's stored progress expects. */
  nextOffset: bigint;
  /**
   * The broker's end offset for the partition as a read_committed consumer sees it (ListOffsets'
   * latest: the last stable offset, so an open transaction does not count); undefined when not known.
   */
  endOffset: bigint | undefined;
  /** How long the broker's end offset has been what it is now (0 when not known). */
  endUnchangedForMs: number;
}

export type IdleCloseReason = 'active' | 'caught-up' | 'behind-end' | 'end-unknown' | 'end-never-delivered';

export interface IdleCloseVerdict {
  close: boolean;
  reason: IdleCloseReason;
}

export function idleCloseVerdict(p: IdlePartition, policy: IdleClosePolicy): IdleCloseVerdict {
  if (p.idleForMs < policy.idleMs) return { close: false, reason: 'active' };
  if (p.endOffset === undefined) return { close: false, reason: 'end-unknown' };
  if (p.nextOffset >= p.endOffset) return { close: true, reason: 'caught-up' };
  const longQuiet = p.idleForMs >= policy.backlogIdleMs && p.endUnchangedForMs >= policy.backlogIdleMs;
  return longQuiet ? { close: true, reason: 'end-never-delivered' } : { close: false, reason: 'behind-end' };
}

/** The broker's end offset per partition across probes, and since when each has been what it is. */
export class EndOffsetWatch {
  private readonly ends = new Map<string, { end: bigint; since: number }>();

  /** Records the end offsets read at `now` (by partition id); ids not read keep their last reading. */
  observe(ends: ReadonlyMap<string, bigint>, now: number): void {
    for (const [id, end] of ends) {
      const seen = this.ends.get(id);
      if (seen?.end !== end) this.ends.set(id, { end, since: now });
    }
  }

  /** The last end offset read for `id` and how long it has been that, at `now`. */
  endOf(id: string, now: number): { endOffset: bigint | undefined; endUnchangedForMs: number } {
    const seen = this.ends.get(id);
    return seen ? { endOffset: seen.end, endUnchangedForMs: now - seen.since } : { endOffset: undefined, endUnchangedForMs: 0 };
  }
}
