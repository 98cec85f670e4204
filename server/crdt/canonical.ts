// Canonical JSON: object keys sorted, no whitespace, so equal states render to equal bytes
// (what etcd Range shows for the non-lww types, and what the simulator compares).

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

/** The canonical rendering of a store's visible state. */
export function renderCanonical(store: { render(): unknown }): string {
  return canonicalJson(store.render());
}
