// Metrics of eventual namespaces (issue 13). The counts behind the gauges are running counts
// the region's eventual store keeps in its state (never a scan); the gauges read them when
// Prometheus scrapes, through the source the region node registers (a snapshot install
// replaces the store, so the source is a function). Labels: namespace (bounded by
// NAMESPACES_MAX) and type (the five CRDT types); devices are never a label.

import { Gauge, type Registry } from 'prom-client';
import { HotCounter } from './hot-metrics.js';

export interface CrdtNamespaceFigures {
  namespace: string;
  unresolvedConflicts: number;
  supersededRecords: number;
  /** Events held / events the devices' highest seqs say should exist (1 when none). */
  completenessRatio: number;
  gaps: number;
}

export type CrdtFiguresSource = () => CrdtNamespaceFigures[];

export interface CrdtCollectors {
  /** Counted once per applied batch, namespace and type on every member: hot-metrics.ts's counter. */
  opsApplied: HotCounter;
  setSource(source: CrdtFiguresSource): void;
}

const noFigures: CrdtFiguresSource = () => [];

export function crdtCollectors(registry: Registry, prefix: string): CrdtCollectors {
  const registers = [registry];
  let source: CrdtFiguresSource = noFigures;
  const gauge = (name: string, help: string, pick: (f: CrdtNamespaceFigures) => number): Gauge<'namespace'> =>
    new Gauge({
      name: prefix + name, help, labelNames: ['namespace'], registers,
      collect() {
        this.reset();
        for (const f of source()) this.set({ namespace: f.namespace }, pick(f));
      },
    });
  gauge('unresolved_conflicts', 'mv keys with more than one sibling, per eventual namespace.', (f) => f.unresolvedConflicts);
  gauge('crdt_superseded_records', 'lww losers kept (listable) until causally stable, per eventual namespace.', (f) => f.supersededRecords);
  gauge('events_completeness_ratio', 'Events held over events the devices\' highest seqs say exist, per events namespace (1: none missing).', (f) => f.completenessRatio);
  gauge('events_gaps', 'Missing seq ranges over every device of an events namespace.', (f) => f.gaps);
  return {
    opsApplied: new HotCounter(
      prefix + 'crdt_ops_applied_total', 'CRDT ops applied to the merged state (region writes and foreign records), by namespace and type.',
      ['namespace', 'type'], registry,
    ),
    setSource(s) {
      source = s;
    },
  };
}
