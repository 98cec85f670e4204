// npm run chaos -- [--nodes N] [--time S] [--nemesis KINDS] [--workload NAMES] [--seed N] [--out DIR] [--unsafe MODE]
import { main } from './cli-main.js';

process.exitCode = await main(process.argv.slice(2));
