// Runs each served method's request and response codec once, before Raft starts, so the
// member's first calls do not generate them on a running loop (issue 20, event-loop delay
// in a fresh or newly added member's first seconds).
//
// protobufjs builds a message type's encode, decode, fromObject and toObject as generated
// JavaScript the first time each is used, 1-5 ms of CPU per type on this machine. A member
// paid it in its first calls: a joiner's first Status answer held its loop 12 ms in
// `fromObject` codegen, and the turn that decoded its first client requests 18 ms
// (profiles of `bench:scale --steps memberadd`, s10-eventloop), and a fresh leader paid
// it for its first Put. Every caller's first request would pay the same, once per process,
// so it is done where nothing waits on the loop yet.
//
// Each method's request and response go through serialize and deserialize as a sample
// that sets every message-typed field of the top-level message to an empty message (a
// repeated one to one empty element): that generates the codecs of the message and of
// the messages it holds directly (ResponseHeader, KeyValue, Member, ...), which is where
// a call's first use lands; deeper levels are left to first use. A sample the codec
// refuses is skipped: warming must never stop a start.

import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';

/** A field of a proto-loader message descriptor (DescriptorProto), as far as this reads it. */
interface FieldDescriptor {
  name: string;
  label: string;
  type: string;
  typeName: string;
}

/** What proto-loader puts in a method's requestType / responseType. */
interface MessageTypeDescriptor {
  type?: { field?: FieldDescriptor[] };
}

/** protobufjs's field-name conversion (keepCase false): `prev_kv` → `prevKv`. */
function camelCase(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** A message with every message-typed field set to an empty message (map fields left out). */
export function sampleMessage(descriptor: MessageTypeDescriptor | undefined): Record<string, unknown> {
  const sample: Record<string, unknown> = {};
  for (const f of descriptor?.type?.field ?? []) {
    // A map field is a repeated nested *Entry message; an empty one is not a valid entry.
    if (f.type !== 'TYPE_MESSAGE' || f.typeName.endsWith('Entry')) continue;
    sample[camelCase(f.name)] = f.label === 'LABEL_REPEATED' ? [{}] : {};
  }
  return sample;
}

type AnyMethod = MethodDefinition<unknown, unknown> & { requestType?: MessageTypeDescriptor; responseType?: MessageTypeDescriptor };

function roundTrip(serialize: (v: unknown) => Buffer, deserialize: (b: Buffer) => unknown, sample: Record<string, unknown>): boolean {
  try {
    deserialize(serialize(sample));
    return true;
  } catch {
    try {
      deserialize(serialize({})); // at least the top-level message's codecs
      return true;
    } catch {
      return false;
    }
  }
}

/** Runs the codecs of every method of `services` once; how many request/response codecs ran. */
export function warmMessageCodecs(services: readonly ServiceDefinition[]): number {
  let warmed = 0;
  for (const service of services) {
    for (const m of Object.values(service) as AnyMethod[]) {
      if (roundTrip(m.requestSerialize as (v: unknown) => Buffer, m.requestDeserialize, sampleMessage(m.requestType))) warmed++;
      if (roundTrip(m.responseSerialize as (v: unknown) => Buffer, m.responseDeserialize, sampleMessage(m.responseType))) warmed++;
    }
  }
  return warmed;
}
