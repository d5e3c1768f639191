/**
 * A property test's number of runs, scaled by SHARDCAST_PROPERTY_RUNS_SCALE (default 1): the
 * sanitized run (scripts/test-sanitized.sh) takes a fraction to stay within its time budget.
 */
export function propertyRuns(runs: number): number {
  const scale = Number(process.env.SHARDCAST_PROPERTY_RUNS_SCALE ?? 1);
  if (!(scale > 0)) throw new Error(`SHARDCAST_PROPERTY_RUNS_SCALE=${process.env.SHARDCAST_PROPERTY_RUNS_SCALE}: expected a number > 0`);
  return Math.max(10, Math.round(runs * scale));
}
