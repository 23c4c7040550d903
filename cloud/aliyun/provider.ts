// The Alibaba Cloud implementation of CloudProvider: real VPC + ECS SDK clients behind the small
// interface in cloud/types.ts. Every mutating method is exactly one API call (the batch ones too).
import type { CloudProvider, CloudTarget } from '../types';
import { createClients, type AliyunClientOptions } from './clients';
import { discover } from './discover';
import { createRoute, deleteRoute, getRoute, listRoutes } from './routes';
import { createRoutes, deleteRoutes, maxRoutesPerBatch } from './route-batches';
import { allowPeer, allowPeers, revokePeer, revokePeers } from './security-groups';

export function createAliyunProvider(target: CloudTarget, options: AliyunClientOptions = {}): CloudProvider {
  const c = createClients(target, options);
  return {
    name: 'aliyun',
    discover: (publicIp) => discover(c, publicIp),
    createRoute: (route, clientToken) => createRoute(c, route, clientToken),
    getRoute: (route) => getRoute(c, route),
    deleteRoute: (route) => deleteRoute(c, route),
    maxRoutesPerBatch,
    createRoutes: (routes) => createRoutes(c, routes),
    deleteRoutes: (routes) => deleteRoutes(c, routes),
    listRoutes: (routeTableId) => listRoutes(c, routeTableId),
    // Alibaba Cloud has no source/destination check to turn off: nothing to call.
    prepareInstance: async () => undefined,
    allowPeer: (rule) => allowPeer(c, rule),
    revokePeer: (rule) => revokePeer(c, rule),
    allowPeers: (rules) => allowPeers(c, rules),
    revokePeers: (rules) => revokePeers(c, rules),
  };
}
