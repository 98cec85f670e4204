// etcd's JSON gateway (/v3/...) for the client port's HTTP/1.1 router: gateway.ts serves it,
// routes.ts lists its paths, codec.ts writes etcd's JSON, errors.ts its failures.

export { GATEWAY_BODY_BYTES_MAX, JsonGateway, addJsonGateway, type JsonGatewayOptions } from './gateway.js';
export { GATEWAY_PREFIXES, GATEWAY_ROUTES, routeFor, type GatewayRoute } from './routes.js';
