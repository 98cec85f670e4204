// What a benchmark's timed part allocates on the JS heap, garbage included: V8's sampling
// heap profiler through the inspector, told to keep samples of objects the GC collected
// (by default it reports only what is still alive, which misses the short-lived garbage
// that makes the scavenges). Sampled (one sample per ALLOC_SAMPLE_BYTES on average), so
// figures are estimates; compare rows of the same run. Used by bench-eventual-apply --alloc.
import { Session } from 'node:inspector';

/** Average bytes between two samples: small enough for per-op figures of a few hundred bytes. */
const ALLOC_SAMPLE_BYTES = 256;
/** Functions listed, by bytes they allocated themselves (unless the caller asks for more). */
export const ALLOC_TOP_DEFAULT = 12;

interface SampleNode {
  callFrame: { functionName: string; url: string };
  selfSize: number;
  children: SampleNode[];
}

export interface AllocSampler {
  stop(ops: number): Promise<string>;
}

function post<T>(s: Session, method: string, params: object): Promise<T> {
  return new Promise((resolve, reject) => s.post(method, params, (err, res) => (err ? reject(err) : resolve(res as T))));
}

export async function startAllocSampler(top = ALLOC_TOP_DEFAULT): Promise<AllocSampler> {
  const s = new Session();
  s.connect();
  await post(s, 'HeapProfiler.enable', {});
  await post(s, 'HeapProfiler.startSampling', {
    samplingInterval: ALLOC_SAMPLE_BYTES, includeObjectsCollectedByMinorGC: true, includeObjectsCollectedByMajorGC: true,
  });
  return {
    async stop(ops) {
      const { profile } = await post<{ profile: { head: SampleNode } }>(s, 'HeapProfiler.stopSampling', {});
      s.disconnect();
      const self = new Map<string, number>();
      let total = 0;
      const walk = (n: SampleNode): void => {
        const name = `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').slice(-2).join('/')}`.trim();
        self.set(name, (self.get(name) ?? 0) + n.selfSize);
        total += n.selfSize;
        for (const c of n.children) walk(c);
      };
      walk(profile.head);
      const list = [...self].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, v]) => `${Math.round(v / ops)} ${k}`);
      return `allocated ~${Math.round(total / ops)} bytes/op (sampled); most by: ${list.join(', ')}`;
    },
  };
}
