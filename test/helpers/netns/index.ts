// Network-namespace fixture for e2e tests and benchmarks: sites with a charon gateway and a LAN host.
export { NetFixture, type NetFixtureOptions, type ProxyInfo, type SiteInfo, type SpawnOptions, type Where } from './fixture';
export { type ProbeResult, type ReadResult, type StreamResult } from './host-helper';
export { netnsSupport, proxySupport, type NetnsSupport } from './support';
export { sweepStale } from './sweep';
export { PUBLIC_RANGES, type NatKind, type ProxySpec, type SiteSpec } from './plan';
