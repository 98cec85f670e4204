// Go's time.ParseDuration, as etcd's duration flags and options take it ("500ms", "5s",
// "1h30m"): one parser for every flag and option that names a duration.

const GO_DURATION_UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** Go's time.ParseDuration for non-negative values, rounded down to ms; undefined if malformed. */
export function parseGoDurationMs(text: string): number | undefined {
  if (text === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let end = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    total += Number(m[1]) * GO_DURATION_UNIT_MS[m[2]!]!;
    end = re.lastIndex;
  }
  if (end === 0 || end !== text.length) return undefined;
  return Math.floor(total);
}
