// The README's "Client library" example: put/get, a transaction, a watch and a kept lease.
// Run against a cluster started with `npm start`:  npx tsx client/example.ts <endpoints>
import { Client, cmp, op } from './index.js';

const client = new Client({ endpoints: process.argv[2] ?? 'http://127.0.0.1:2379' });
try {
  await client.put('greeting', 'hello');
  console.log(await client.getString('greeting')); // hello

  // Compare-and-swap: only if nobody changed the key since we read it.
  const kv = await client.get('greeting');
  const cas = await client.txn()
    .when(cmp.modRevision('greeting', '=', kv?.modRevision ?? 0))
    .success(op.put('greeting', 'hello again'))
    .commit();
  console.log('swapped:', cas.succeeded);

  // A watch resumes on another member if the one serving it dies.
  const watch = client.watch('jobs/', { prefix: true });
  await watch.ready();
  await client.put('jobs/1', 'build');
  for await (const event of watch.events()) {
    console.log(event.type, event.kv.key.toString(), event.kv.value.toString()); // put jobs/1 build
    break; // leaving the loop closes the watch
  }

  // A lease kept alive in the background; its key goes when the lease does.
  const lease = await client.lease(10);
  lease.on('lost', (err) => console.error('lease lost:', err.reason));
  await client.put('workers/me', 'alive', { lease: lease.id });
  await lease.revoke(); // deletes workers/me
} finally {
  client.close();
}
