// `npm run diff:etcd`: the differential against a real etcd, printed as a unified diff.
//
//   npm run diff:etcd -- [--print etcd|regionstore] [--keep] [--verbose]
//
// --print also writes every normalized line of one side (to read what a step shows).
// There is no way to bless a difference: etcd is the reference; a difference that stays
// goes on the short list in known.ts with the issue that fixes it.

import { haveTool } from '../helpers/cluster.js';
import { renderComparison } from './diff.js';
import { runDifferential } from './run.js';

const ETCD_NAME = 'etcd 3.4.23';

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  let print: string | undefined;
  let keep = false;
  let verbose = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--print') print = argv[++i];
    else if (argv[i] === '--keep') keep = true;
    else if (argv[i] === '--verbose') verbose = true;
    else throw new Error(`unknown flag ${argv[i]}; see the top of test/differential/main.ts`);
  }
  if (print !== undefined && print !== 'etcd' && print !== 'regionstore') throw new Error('--print takes etcd or regionstore');
  if (!haveTool('etcd', 'etcd-server') || !haveTool('etcdctl', 'etcd-client')) return 1;
  const r = await runDifferential({
    keep,
    log: (l) => console.error(`[differential] ${l}`),
    ...(verbose ? { onServerLine: (s: string, n: string, l: string) => console.error(`[${s} ${n}] ${l}`) } : {}),
  });
  if (print !== undefined) {
    for (const s of print === 'etcd' ? r.etcd : r.regionstore) for (const l of s.lines) console.log(`[${s.step}] ${l}`);
  }
  console.log(renderComparison(r.comparison, ETCD_NAME, 'regionstore'));
  console.error(`[differential] ${r.steps.length} steps, ${r.ms} ms`);
  return r.comparison.count === 0 ? 0 : 1;
}

main().then((code) => {
  process.exitCode = code;
}, (err: unknown) => {
  console.error(`diff:etcd failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  process.exitCode = 2;
});
