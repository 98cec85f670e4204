// rsctl's exit codes, and the stderr text of a failure: what went wrong and what to do.
//
//   0  success
//   1  the command failed: the cluster answered with an error (bad request, not found,
//      compacted, precondition...), a local file could not be written, or a bench saw
//      failed requests
//   2  usage error: unknown command or flag, missing or malformed argument
//   3  unavailable: no endpoint could be reached within --dial-timeout, or the cluster
//      did not answer within --command-timeout (no leader, no quorum, member down)

import {
  CompactedError, DeadlineExceededError, FutureRevisionError, GrpcCode, InvalidArgumentError, LeaseLostError, LeaseNotFoundError,
  NotFoundError, RegionstoreError, ResourceExhaustedError, UnavailableError,
} from '../index.js';
import { UsageError } from './args.js';

export const ExitCode = { ok: 0, failed: 1, usage: 2, unavailable: 3 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** No endpoint accepted a connection within --dial-timeout. */
export class DialError extends Error {
  override name = 'DialError';
}

export function exitCodeOf(err: unknown): ExitCode {
  if (err instanceof UsageError) return ExitCode.usage;
  // The client library throws RangeError for arguments it cannot send (bad id, TTL, endpoint).
  if (err instanceof RangeError) return ExitCode.usage;
  if (err instanceof DialError) return ExitCode.unavailable;
  if (err instanceof LeaseLostError) return err.reason === 'unreachable' ? ExitCode.unavailable : ExitCode.failed;
  if (err instanceof UnavailableError || err instanceof DeadlineExceededError) return ExitCode.unavailable;
  return ExitCode.failed;
}

/** What to do about it, when there is something better to say than the message. */
function hintFor(err: unknown, command: string): string | undefined {
  const help = command === '' ? 'rsctl --help' : `rsctl ${command} --help`;
  if (err instanceof UsageError || err instanceof RangeError) return `see ${help}`;
  if (err instanceof DialError) {
    return 'check --endpoints (host:port of the cluster\'s client URLs) and that the members are running; raise --dial-timeout on a slow network';
  }
  if (err instanceof CompactedError) return 'that history is gone: use a later --rev (rsctl endpoint status shows the current revision)';
  if (err instanceof FutureRevisionError) return 'the revision is beyond the current one: rsctl endpoint status shows the current revision';
  if (err instanceof LeaseNotFoundError || err instanceof LeaseLostError) {
    return 'the lease expired or was revoked: grant a new one (rsctl lease grant <ttl>); rsctl lease list shows the live ones';
  }
  if (err instanceof NotFoundError && /member/i.test(err.details)) return 'rsctl member list shows the member ids (hex)';
  if (err instanceof InvalidArgumentError) return `the cluster refused the request as given: see ${help}`;
  if (err instanceof ResourceExhaustedError) return 'the request or its answer is over a server limit: split it (e.g. --limit) or retry later';
  if (err instanceof DeadlineExceededError) {
    return 'no answer within --command-timeout: check rsctl endpoint health, or raise --command-timeout for a slow operation';
  }
  if (err instanceof UnavailableError) {
    return 'no member could serve it (no leader, no quorum, or members down): check rsctl endpoint health and --endpoints';
  }
  if (err instanceof RegionstoreError && err.code === GrpcCode.CANCELLED) return undefined;
  return undefined;
}

/** "Error: ..." and, when useful, "Hint: ..." lines for stderr. */
export function describeFailure(err: unknown, command: string): string {
  const message = err instanceof Error ? err.message : String(err);
  const hint = hintFor(err, command);
  const where = command === '' ? '' : ` (${command})`;
  return `Error${where}: ${message}\n${hint === undefined ? '' : `Hint: ${hint}\n`}`;
}
