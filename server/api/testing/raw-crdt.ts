// A plain grpc-js client of regionstore.v1.Crdt for tests: every call as a promise of the
// answer (as @grpc/proto-loader decodes it with LOADER_OPTIONS: 64-bit fields as decimal
// strings) and its trailing metadata, so tests can send what the client library would
// refuse to build and check exact codes, messages and trailers.

import { Metadata, credentials, loadPackageDefinition, type Client, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';
import { LOADER_OPTIONS } from '../proto.js';

type Ctor = new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => Client;
type Method = (req: unknown, md: Metadata, opts: { deadline?: number }, cb: (e: ServiceError | null, r: unknown) => void) => NodeJS.EventEmitter;

export type CrdtMethod = 'Write' | 'Read' | 'Superseded' | 'Completeness' | 'Conflicts' | 'Hash';

export interface RawCrdt {
  /** Resolves with the answer; rejects with the ServiceError (code, details). */
  call(method: CrdtMethod, req: unknown, md?: Record<string, string>, timeoutMs?: number): Promise<any>;
  /** The answer and the trailing metadata. */
  callWithTrailers(method: CrdtMethod, req: unknown, md?: Record<string, string>): Promise<{ answer: any; trailers: Metadata }>;
  close(): void;
}

const DEFAULT_TIMEOUT_MS = 15_000;

export function rawCrdt(endpoint: string): RawCrdt {
  const dir = fileURLToPath(new URL('../../../proto', import.meta.url));
  const def = loadSync('regionstore/v1/crdt_service.proto', { ...LOADER_OPTIONS, includeDirs: [dir] });
  const Ctor = (loadPackageDefinition(def) as unknown as { regionstore: { v1: { Crdt: Ctor } } }).regionstore.v1.Crdt;
  const c = new Ctor(endpoint, credentials.createInsecure()) as Client & Record<CrdtMethod, Method>;
  const callWithTrailers = (method: CrdtMethod, req: unknown, md: Record<string, string> = {}, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<{ answer: any; trailers: Metadata }> =>
    new Promise((resolve, reject) => {
      const meta = new Metadata();
      for (const [k, v] of Object.entries(md)) meta.set(k, v);
      let answer: unknown;
      let failed: ServiceError | undefined;
      let settled = 0;
      let trailers = new Metadata();
      const finish = (): void => {
        if (++settled < 2) return;
        if (failed !== undefined) reject(failed);
        else resolve({ answer, trailers });
      };
      const call = c[method].call(c, req, meta, { deadline: Date.now() + timeoutMs }, (e, r) => {
        if (e !== null) failed = e;
        answer = r;
        finish();
      });
      call.on('status', (s: StatusObject) => {
        trailers = s.metadata;
        finish();
      });
    });
  return {
    call: async (method, req, md, timeoutMs) => (await callWithTrailers(method, req, md, timeoutMs)).answer,
    callWithTrailers: (method, req, md) => callWithTrailers(method, req, md),
    close: () => c.close(),
  };
}
