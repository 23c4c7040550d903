// Two sites with real charon and agents, shaped for changing a running link: site "dc" (on-prem)
// has a second LAN subnet the link does not carry at first, and site "vpc" sits behind 1:1 NAT and
// learns its public address from a cloud metadata service (a fake EC2 IMDSv2 in the root
// namespace), so moving its public address is what happens when an Elastic IP is re-associated.
// Shared by the e2e test and `npm run bench:recovery`.
import { startStack, type Stack } from './stack';
import { FakeMetadataServer } from '../fakes/metadata';

export interface ChangeStackSpec {
  id: string;
  dcIp: string;
  vpcIp: string;
  /** Three /24s: dc's LAN, vpc's LAN, and dc's second subnet (host .2, gateway .1). */
  dcLan: string;
  vpcLan: string;
  dcExtra: string;
}

export interface ChangeStack {
  stack: Stack;
  meta: FakeMetadataServer;
  dcId: string;
  vpcId: string;
  /** The dc host's address in its second subnet. */
  dcExtraHost: string;
  /** Moves vpc to a new public address, as the cloud does when its EIP is re-associated. */
  moveVpc(newIp: string): Promise<void>;
  close(): Promise<void>;
}

const host = (cidr: string, n: number): string => cidr.replace(/\.0\/24$/, `.${n}`);

export async function startChangeStack(s: ChangeStackSpec, o: { addressCheckMs?: number } = {}): Promise<ChangeStack> {
  const stack = await startStack({
    id: s.id,
    sites: [
      { name: 'dc', publicIp: s.dcIp, lanCidr: s.dcLan },
      { name: 'vpc', publicIp: s.vpcIp, lanCidr: s.vpcLan, behindNat: true },
    ],
    register: (site) => ({ name: `${s.id}-${site.name}`, provider: 'onprem', cidrs: site.name === 'dc' ? [s.dcLan, s.dcExtra] : [site.lanCidr] }),
  });
  let meta: FakeMetadataServer | undefined;
  try {
    const f = stack.fixture;
    await f.exec('dc', 'gw', 'ip', ['addr', 'add', `${host(s.dcExtra, 1)}/24`, 'dev', 'lan']);
    await f.exec('dc', 'host', 'ip', ['addr', 'add', `${host(s.dcExtra, 2)}/24`, 'dev', 'eth0']);
    meta = await FakeMetadataServer.start({ cloud: 'aws', host: f.controllerIp, publicIp: s.vpcIp });
    await Promise.all([
      stack.startAgent('dc'),
      stack.startAgent('vpc', { CLOUD_METADATA: 'aws', METADATA_ENDPOINT: meta.url, ADDRESS_CHECK_MS: String(o.addressCheckMs ?? 1000) }),
    ]);
    await Promise.all([f.tcpServer('dc', 7000), f.tcpServer('vpc', 7000)]);
    const m = meta;
    return {
      stack,
      meta: m,
      dcId: stack.gateways.get('dc')!.id,
      vpcId: stack.gateways.get('vpc')!.id,
      dcExtraHost: host(s.dcExtra, 2),
      async moveVpc(newIp) {
        await f.changePublicIp('vpc', newIp);
        m.publicIp = newIp;
      },
      async close() {
        await stack.close();
        await m.stop();
      },
    };
  } catch (err) {
    await stack.close();
    await meta?.stop();
    throw err;
  }
}
