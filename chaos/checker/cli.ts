// Entry point of `npm run chaos:check` ("chaos:check": "tsx chaos/checker/cli.ts"); see cli-main.ts.
import { main } from './cli-main.js';

process.exitCode = await main(process.argv.slice(2));
