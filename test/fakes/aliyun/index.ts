// A faithful fake of Alibaba Cloud's VPC and ECS RPC APIs for the real SDK clients (see server.ts).
export { AliyunFake } from './server';
export type { AliyunFakeOptions, RouteEntryView } from './server';
export type { FaultSpec } from './faults';
export type { CallRecord, Limits, RateLimit } from './throttle';
export type { AccessKeyRecord } from './signature';
export { sdkClients, addGatewaySite, eventually } from './fixtures';
export type { SdkClients, GatewaySite } from './fixtures';
