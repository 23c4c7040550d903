// The Alibaba Cloud implementation of CloudProvider: real VPC + ECS SDK clients behind the small
// interface in cloud/types.ts. Every mutating method is exactly one API call (the batch ones too).
import type { CloudProvider, CloudTarget } from '../types';
import { createClients, type AliyunClientOptions } from './clients';
import { discover } from './discover';
import { createRoute, deleteRoute, getRoute, listRoutes } from './routes';
import { createRoutes, deleteRoutes } from './route-batches';
import { aliyunCapabilities } from './capabilities';
import { allowPeer, allowPeers, revokePeer, revokePeers } from './security-groups';

export function createAliyunProvider(target: CloudTarget, options: AliyunClientOptions = {}): CloudProvider {
  const clients = createClients(target, options);
  return {
    name: 'aliyun',
    capabilities: aliyunCapabilities,
    discover: (publicIp, discoverOptions) => discover(clients, publicIp, discoverOptions),
    createRoute: (route, clientToken) => createRoute(clients, route, clientToken),
    getRoute: (route) => getRoute(clients, route),
    deleteRoute: (route) => deleteRoute(clients, route),
    createRoutes: (routes) => createRoutes(clients, routes),
    deleteRoutes: (routes) => deleteRoutes(clients, routes),
    listRoutes: (routeTableId) => listRoutes(clients, routeTableId),
    // Alibaba Cloud has no source/destination check to turn off: nothing to call.
    prepareInstance: async () => undefined,
    allowPeer: (rule) => allowPeer(clients, rule),
    revokePeer: (rule) => revokePeer(clients, rule),
    allowPeers: (rules) => allowPeers(clients, rules),
    revokePeers: (rules) => revokePeers(clients, rules),
  };
}
