// Fault-injecting TCP proxies for the peer links of a cluster (see mesh.ts for what a
// directed link is and what each fault does to it).
export { PASS, validatePolicy, type LinkPolicy } from './policy.js';
export { FaultProxy, LISTEN_HOST, type FaultProxyOptions, type ProxyStats, type ProxyTarget } from './proxy.js';
export { ProxyMesh, type ProxyMeshOptions } from './mesh.js';
export { bridgeLinks, bridgeSplit, isolateLinks, linkName, partitionLinks, type Link } from './topology.js';
export { LANE_QUEUE_BYTES_MAX } from './lane.js';
export { ProxySet } from './proxy-set.js';
