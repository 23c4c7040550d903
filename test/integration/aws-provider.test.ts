// The AWS provider against a real moto server: resources are created through the EC2 API first, then
// the provider discovers, routes and opens security groups, and the results are read back from EC2.
import {
  AllocateAddressCommand,
  AssociateAddressCommand,
  CreateRouteCommand,
  DescribeInstanceAttributeCommand,
  DescribeSecurityGroupsCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAwsProvider, type AwsProvider } from '../../cloud/aws';
import { CloudError } from '../../cloud/types';
import { motoAvailable, motoEc2Client, motoTarget, seedAwsSite, startMoto, type Moto, type SeededSite } from '../helpers/moto';

const moto = motoAvailable();
if (!moto.ok) console.warn(`[aws-provider.test] skipped: ${moto.reason}`);

async function failure(p: Promise<unknown>): Promise<CloudError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CloudError);
  return err as CloudError;
}

describe.runIf(moto.ok)('AWS provider against moto', () => {
  let server: Moto;
  let ec2: EC2Client;
  let aws: AwsProvider;
  let site: SeededSite;

  beforeAll(async () => {
    server = await startMoto();
    ec2 = motoEc2Client(server.endpoint);
    aws = createAwsProvider(motoTarget(server.endpoint));
  });

  afterAll(async () => {
    ec2?.destroy();
    await server?.stop();
  });

  beforeEach(async () => {
    await server.reset();
    site = await seedAwsSite(server.endpoint);
  });

  /** Another instance in the gateway's subnet (someone else's next hop). */
  async function otherInstance(): Promise<string> {
    const run = await ec2.send(new RunInstancesCommand({ ImageId: 'ami-00000001', MinCount: 1, MaxCount: 1, SubnetId: site.subnetId }));
    return run.Instances![0]!.InstanceId!;
  }

  describe('discover', () => {
    it('finds the gateway and its whole network from the auto-assigned public IP', async () => {
      const gw = await aws.discover(site.publicIp);
      expect(gw).toEqual({
        instanceId: site.instanceId,
        privateIp: site.privateIp,
        publicIp: site.publicIp,
        vpcId: site.vpcId,
        subnetId: site.subnetId,
        networkInterfaceId: site.networkInterfaceId,
        vpcCidrs: ['10.10.0.0/16', '10.11.0.0/16'],
        routeTableIds: expect.arrayContaining([site.mainRouteTableId, site.routeTableId]) as string[],
        securityGroupIds: [site.securityGroupId],
      });
      expect(gw.routeTableIds).toHaveLength(2);
    });

    it('finds an instance by its EIP', async () => {
      const eipSite = await seedAwsSite(server.endpoint, { cidr: '10.20.0.0/16', secondaryCidr: '10.21.0.0/16', publicIp: '203.0.113.10', name: 'eip' });
      expect(eipSite.publicIp).toBe('203.0.113.10');
      const gw = await aws.discover('203.0.113.10');
      expect(gw).toMatchObject({ instanceId: eipSite.instanceId, vpcId: eipSite.vpcId, vpcCidrs: ['10.20.0.0/16', '10.21.0.0/16'] });
    });

    it('not_found when no instance has the IP', async () => {
      expect(await failure(aws.discover('198.51.100.200'))).toMatchObject({ kind: 'not_found' });
    });

    it('invalid when two live instances have the IP; a terminated one no longer counts', async () => {
      // Real AWS never lets two instances share an address; moto allocates the same EIP address twice.
      const other = await otherInstance();
      for (const instanceId of [site.instanceId, other]) {
        const eip = await ec2.send(new AllocateAddressCommand({ Domain: 'vpc', Address: '203.0.113.20' }));
        await ec2.send(new AssociateAddressCommand({ AllocationId: eip.AllocationId!, InstanceId: instanceId }));
      }
      const err = await failure(aws.discover('203.0.113.20'));
      expect(err.kind).toBe('invalid');
      expect(err.message).toContain(other);
      await ec2.send(new TerminateInstancesCommand({ InstanceIds: [other] }));
      expect((await aws.discover('203.0.113.20')).instanceId).toBe(site.instanceId);
    });
  });

  describe('routes', () => {
    const cidr = '192.168.50.0/24';
    const spec = () => ({ routeTableId: site.routeTableId, destinationCidr: cidr, instanceId: site.instanceId });

    it('creates a route to the instance and reads it back', async () => {
      expect(await aws.getRoute(spec())).toBeUndefined();
      expect(await aws.createRoute(spec(), 'token-1')).toBe('created');
      expect(await aws.getRoute(spec())).toEqual({ status: 'active', instanceId: site.instanceId, nextHop: site.instanceId });
    });

    it('RouteAlreadyExists is a conflict; getRoute then tells ours (same instance) from someone else’s', async () => {
      await aws.createRoute(spec(), 'token-1');
      const again = await failure(aws.createRoute(spec(), 'token-1'));
      expect(again).toMatchObject({ kind: 'conflict', providerCode: 'RouteAlreadyExists' });
      expect((await aws.getRoute(spec()))?.instanceId).toBe(site.instanceId);

      const other = await otherInstance();
      await ec2.send(new CreateRouteCommand({ RouteTableId: site.routeTableId, DestinationCidrBlock: '192.168.60.0/24', InstanceId: other }));
      const theirs = { ...spec(), destinationCidr: '192.168.60.0/24' };
      expect(await failure(aws.createRoute(theirs, 'token-2'))).toMatchObject({ kind: 'conflict' });
      expect(await aws.getRoute(theirs)).toMatchObject({ instanceId: other, nextHop: other });
    });

    it('unknown table or instance → not_found; malformed CIDR → invalid', async () => {
      expect(await failure(aws.createRoute({ ...spec(), routeTableId: 'rtb-0000000000000000f' }, 't'))).toMatchObject({
        kind: 'not_found',
        providerCode: 'InvalidRouteTableID.NotFound',
      });
      expect(await failure(aws.createRoute({ ...spec(), instanceId: 'i-0000000000000000f' }, 't'))).toMatchObject({
        kind: 'not_found',
        providerCode: 'InvalidInstanceID.NotFound',
      });
      expect(await failure(aws.createRoute({ ...spec(), destinationCidr: '192.168.0.0/33' }, 't'))).toMatchObject({
        kind: 'invalid',
        providerCode: 'InvalidParameterValue',
      });
      expect(await failure(aws.getRoute({ routeTableId: 'rtb-0000000000000000f', destinationCidr: cidr }))).toMatchObject({ kind: 'not_found' });
    });

    it('getRoute reports other next hops (the local route)', async () => {
      expect(await aws.getRoute({ routeTableId: site.mainRouteTableId, destinationCidr: '10.11.0.0/16' })).toEqual({ status: 'active', nextHop: 'local' });
    });

    it('deleteRoute deletes, then answers absent (also for a vanished table)', async () => {
      await aws.createRoute(spec(), 't');
      expect(await aws.deleteRoute(spec())).toBe('deleted');
      expect(await aws.getRoute(spec())).toBeUndefined();
      expect(await aws.deleteRoute(spec())).toBe('absent');
      expect(await aws.deleteRoute({ ...spec(), routeTableId: 'rtb-0000000000000000f' })).toBe('absent');
    });

    it('replaceRoute re-points a route; not_found when there is none', async () => {
      const other = await otherInstance();
      await aws.createRoute({ ...spec(), instanceId: other }, 't');
      await aws.replaceRoute(spec());
      expect((await aws.getRoute(spec()))?.instanceId).toBe(site.instanceId);
      expect(await failure(aws.replaceRoute({ ...spec(), destinationCidr: '192.168.99.0/24' }))).toMatchObject({ kind: 'not_found' });
    });

    it('IPv6 destinations go through DestinationIpv6CidrBlock', async () => {
      const v6 = { ...spec(), destinationCidr: 'fd00:50::/64' };
      expect(await aws.createRoute(v6, 't')).toBe('created');
      expect((await aws.getRoute(v6))?.instanceId).toBe(site.instanceId);
      expect(await aws.deleteRoute(v6)).toBe('deleted');
    });
  });

  describe('prepareInstance', () => {
    it('turns source/destination checking off, idempotently', async () => {
      const check = async () =>
        (await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: site.instanceId, Attribute: 'sourceDestCheck' }))).SourceDestCheck?.Value;
      expect(await check()).toBe(true);
      await aws.prepareInstance(site.instanceId);
      await aws.prepareInstance(site.instanceId);
      expect(await check()).toBe(false);
    });

    it('unknown instance → not_found', async () => {
      expect(await failure(aws.prepareInstance('i-0000000000000000f'))).toMatchObject({ kind: 'not_found', providerCode: 'InvalidInstanceID.NotFound' });
    });
  });

  describe('security groups', () => {
    const rule = () => ({ securityGroupId: site.securityGroupId, peerIp: '198.51.100.7', description: 'ipsec-mesh link l-1' });
    const ingress = async () => {
      const sg = (await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [site.securityGroupId] }))).SecurityGroups![0]!;
      return (sg.IpPermissions ?? [])
        .flatMap((p) => (p.IpRanges ?? []).map((r) => `${p.IpProtocol}:${p.FromPort}-${p.ToPort}:${r.CidrIp}:${r.Description}`))
        .sort();
    };

    it('allowPeer writes UDP 500, UDP 4500 and ESP from peer/32 with the description, idempotently', async () => {
      await aws.allowPeer(rule());
      await aws.allowPeer(rule());
      expect(await ingress()).toEqual([
        '50:-1--1:198.51.100.7/32:ipsec-mesh link l-1',
        'udp:4500-4500:198.51.100.7/32:ipsec-mesh link l-1',
        'udp:500-500:198.51.100.7/32:ipsec-mesh link l-1',
      ]);
      const present = await aws.peerRulesPresent(rule());
      expect(present.map((r) => `${r.protocol}${r.port ?? ''}`).sort()).toEqual(['esp', 'udp4500', 'udp500']);
      expect(present.every((r) => r.description === 'ipsec-mesh link l-1' && r.ruleId.startsWith('sgr-'))).toBe(true);
    });

    it('revokePeer removes exactly that peer’s rules, idempotently', async () => {
      await aws.allowPeer(rule());
      await aws.allowPeer({ ...rule(), peerIp: '198.51.100.8', description: 'ipsec-mesh link l-2' });
      await aws.revokePeer(rule());
      await aws.revokePeer(rule());
      expect(await ingress()).toEqual([
        '50:-1--1:198.51.100.8/32:ipsec-mesh link l-2',
        'udp:4500-4500:198.51.100.8/32:ipsec-mesh link l-2',
        'udp:500-500:198.51.100.8/32:ipsec-mesh link l-2',
      ]);
      expect(await aws.peerRulesPresent(rule())).toEqual([]);
    });

    // A peer behind an HTTP proxy has no known address (issue 12): its rule admits every source.
    describe('any source (a CIDR as peerIp)', () => {
      const anyV4 = () => ({ ...rule(), peerIp: '0.0.0.0/0', description: 'ipsec-mesh peer 0.0.0.0/0' });
      const anyV6 = () => ({ ...rule(), peerIp: '::/0', description: 'ipsec-mesh peer ::/0' });
      const ingressV6 = async () => {
        const sg = (await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [site.securityGroupId] }))).SecurityGroups![0]!;
        return (sg.IpPermissions ?? []).flatMap((p) => (p.Ipv6Ranges ?? []).map((r) => `${p.IpProtocol}:${p.FromPort}-${p.ToPort}:${r.CidrIpv6}`)).sort();
      };

      it('allowPeer with 0.0.0.0/0 writes exactly UDP 500, UDP 4500 and ESP from 0.0.0.0/0, idempotently, and the read finds them', async () => {
        await aws.allowPeer(anyV4());
        await aws.allowPeer(anyV4());
        expect(await ingress()).toEqual([
          '50:-1--1:0.0.0.0/0:ipsec-mesh peer 0.0.0.0/0',
          'udp:4500-4500:0.0.0.0/0:ipsec-mesh peer 0.0.0.0/0',
          'udp:500-500:0.0.0.0/0:ipsec-mesh peer 0.0.0.0/0',
        ]);
        const present = await aws.peerRulesPresent(anyV4());
        expect(present.map((r) => `${r.protocol}${r.port ?? ''}`).sort()).toEqual(['esp', 'udp4500', 'udp500']);
        expect(present.every((r) => r.description === 'ipsec-mesh peer 0.0.0.0/0')).toBe(true);
        // The any-source rules are not a specific peer's, nor the other way round.
        expect(await aws.peerRulesPresent(rule())).toEqual([]);
      });

      it('revokePeer with 0.0.0.0/0 removes exactly those and leaves a specific peer’s rules alone (and vice versa)', async () => {
        await aws.allowPeer(anyV4());
        await aws.allowPeer(rule());
        await aws.revokePeer(anyV4());
        await aws.revokePeer(anyV4());
        expect(await ingress()).toEqual([
          '50:-1--1:198.51.100.7/32:ipsec-mesh link l-1',
          'udp:4500-4500:198.51.100.7/32:ipsec-mesh link l-1',
          'udp:500-500:198.51.100.7/32:ipsec-mesh link l-1',
        ]);
        expect(await aws.peerRulesPresent(anyV4())).toEqual([]);
        await aws.allowPeer(anyV4());
        await aws.revokePeer(rule());
        expect(await ingress()).toEqual([
          '50:-1--1:0.0.0.0/0:ipsec-mesh peer 0.0.0.0/0',
          'udp:4500-4500:0.0.0.0/0:ipsec-mesh peer 0.0.0.0/0',
          'udp:500-500:0.0.0.0/0:ipsec-mesh peer 0.0.0.0/0',
        ]);
      });

      it('::/0 goes through Ipv6Ranges: written, found, revoked', async () => {
        await aws.allowPeer(anyV6());
        await aws.allowPeer(anyV6());
        expect(await ingressV6()).toEqual(['50:-1--1:::/0', 'udp:4500-4500:::/0', 'udp:500-500:::/0']);
        expect((await aws.peerRulesPresent(anyV6())).map((r) => `${r.protocol}${r.port ?? ''}`).sort()).toEqual(['esp', 'udp4500', 'udp500']);
        expect(await aws.peerRulesPresent(anyV4())).toEqual([]);
        await aws.revokePeer(anyV6());
        expect(await ingressV6()).toEqual([]);
      });

      it('a malformed CIDR or address is invalid, without a call', async () => {
        for (const peerIp of ['0.0.0.0/33', '10.1.0.5/24', '::/129', '198.51.100.7/', 'peer.example', '198.51.100.300', '::ffff:0:0/96']) {
          const bad = { ...rule(), peerIp };
          expect(await failure(aws.allowPeer(bad)), peerIp).toMatchObject({ kind: 'invalid', providerCode: undefined });
          expect(await failure(aws.revokePeer(bad)), peerIp).toMatchObject({ kind: 'invalid', providerCode: undefined });
          expect(await failure(aws.peerRulesPresent(bad)), peerIp).toMatchObject({ kind: 'invalid' });
        }
        expect(await ingress()).toEqual([]);
      });
    });

    it('unknown group: allowPeer → not_found, revokePeer → success (nothing left to remove)', async () => {
      const gone = { ...rule(), securityGroupId: 'sg-0000000000000000f' };
      expect(await failure(aws.allowPeer(gone))).toMatchObject({ kind: 'not_found', providerCode: 'InvalidGroup.NotFound' });
      await expect(aws.revokePeer(gone)).resolves.toBeUndefined();
    });
  });

  describe('credentials', () => {
    it('moto accepts any key unless told to check them; then an unknown key is auth', async () => {
      // The shared server runs without auth (every other test uses dummy keys), so this one starts its own.
      const strict = await startMoto({ enforceAuth: true });
      try {
        const bad = createAwsProvider(motoTarget(strict.endpoint, undefined, { accessKeyId: 'AKIAUNKNOWNKEY000000', accessKeySecret: 'wrong' }));
        const err = await failure(bad.discover('198.51.100.1'));
        expect(err).toMatchObject({ kind: 'auth', providerCode: 'AuthFailure' });
        expect(err.message).not.toContain('wrong');
        expect(await failure(bad.createRoute({ routeTableId: 'rtb-1', destinationCidr: '10.0.0.0/8', instanceId: 'i-1' }, 't'))).toMatchObject({ kind: 'auth' });
      } finally {
        await strict.stop();
      }
    });
  });
});
