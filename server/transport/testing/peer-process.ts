// Run by grpc-transport.test.ts as its own process: a peer that can be frozen with SIGSTOP
// (its kernel still acknowledges TCP, so only keepalive pings can tell it is gone).
import { TestNode } from './harness.js';

const n = await new TestNode(2).start();
console.log(`port ${n.port}`);
process.on('SIGTERM', () => void n.transport.close());
