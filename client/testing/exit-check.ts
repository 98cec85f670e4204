// Used by kv.test.ts: does a little of everything with a client, closes it, and must
// then exit on its own (no process.exit): close() has to release every handle.
import { Client } from '../index.js';

const endpoints = process.argv[2];
if (endpoints === undefined) throw new Error('usage: exit-check.ts <endpoints>');
const client = new Client({ endpoints });
await client.put('exit/k', 'v');
await client.get('exit/k');
const w = client.watch('exit/', { prefix: true });
await w.ready();
const lease = await client.lease(5);
await client.put('exit/l', 'v', { lease: lease.id });
const pending = client.get('exit/k', { timeoutMs: 60_000 });
client.close();
await pending.catch(() => undefined);
console.log('closed');
