/**
 * How long a dependency (the broker) has answered without a break, from periodic probes. No
 * second probe starts beside a running one; a probe running for `timeoutMs` has not answered,
 * which counts as a failure.
 */
export class Reachability {
  private lastFailureAt: number;
  private inFlightSince: number | null = null;

  constructor(
    private readonly probe: () => Promise<void>,
    private readonly timeoutMs = 5_000,
    private readonly now: () => number = Date.now,
  ) {
    // Unknown until it has answered for a while: as if it had just failed.
    this.lastFailureAt = now();
  }

  /** Probes once; true if it answered (false while the previous probe is still running). */
  async check(): Promise<boolean> {
    if (this.inFlightSince !== null) {
      if (this.now() - this.inFlightSince >= this.timeoutMs) this.lastFailureAt = this.now();
      return false;
    }
    this.inFlightSince = this.now();
    try {
      await this.probe();
      return true;
    } catch {
      this.lastFailureAt = this.now();
      return false;
    } finally {
      this.inFlightSince = null;
    }
  }

  /** Milliseconds since the last failed (or unanswered) probe. */
  reachableForMs(): number {
    return this.now() - this.lastFailureAt;
  }
}
