// Network-namespace fixture for e2e tests and benchmarks: sites with a charon gateway and a LAN host.
export { NetFixture, type NetFixtureOptions, type SiteInfo, type SpawnOptions } from './fixture';
export { netnsSupport, type NetnsSupport } from './support';
export { sweepStale } from './sweep';
export { PUBLIC_RANGES, type SiteSpec } from './plan';
