// npm run chaos -- [--nodes N] [--time S] [--nemesis KINDS] [--workload NAMES] [--seed N] [--out DIR] [--unsafe MODE]
import { main } from './cli-main.js';

const code = await main(process.argv.slice(2));
// Exit as soon as the output is out: a stopped node's SIGKILL-escalation timer (launcher)
// would otherwise hold the process for its whole timeout.
process.stdout.write('', () => process.exit(code));
