// Ready-made pieces for tests of the fake: real SDK clients pointed at it, and a VPC with one
// gateway instance the way an operator would have set it up in the console.
import VpcClient from '@alicloud/vpc20160428';
import EcsClient from '@alicloud/ecs20140526';
import { Config } from '@alicloud/openapi-client';
import type { AliyunFake } from './server';

export interface SdkClients {
  vpc: VpcClient;
  ecs: EcsClient;
}

/** The real VPC and ECS clients, talking plain HTTP to the fake. */
export function sdkClients(
  fake: AliyunFake,
  key: { accessKeyId: string; accessKeySecret: string; securityToken?: string },
  readTimeoutMs = 10_000,
): SdkClients {
  const config = () =>
    new Config({ ...key, regionId: fake.regionId, endpoint: fake.endpoint, protocol: 'http', readTimeout: readTimeoutMs });
  return { vpc: new VpcClient(config()), ecs: new EcsClient(config()) };
}

export interface GatewaySite {
  vpcId: string;
  vRouterId: string;
  systemTableId: string;
  vSwitchId: string;
  securityGroupId: string;
  instanceId: string;
  privateIp: string;
}

/** VPC 10.<n>.0.0/16 (+ secondary 172.<16+n>.0.0/16), vSwitch 10.<n>.1.0/24, one security group, one gateway. */
export function addGatewaySite(fake: AliyunFake, n: number, address: { publicIp?: string; eip?: string }): GatewaySite {
  const vpc = fake.addVpc({ cidrBlock: `10.${n}.0.0/16`, secondaryCidrs: [`172.${16 + n}.0.0/16`] });
  const vsw = fake.addVSwitch({ vpcId: vpc.vpcId, cidrBlock: `10.${n}.1.0/24` });
  const sg = fake.addSecurityGroup({ vpcId: vpc.vpcId });
  const privateIp = `10.${n}.1.10`;
  const inst = fake.addInstance({ vpcId: vpc.vpcId, vSwitchId: vsw.vSwitchId, privateIp, securityGroupIds: [sg.securityGroupId], ...address });
  return {
    vpcId: vpc.vpcId,
    vRouterId: vpc.vRouterId,
    systemTableId: vpc.routeTableId,
    vSwitchId: vsw.vSwitchId,
    securityGroupId: sg.securityGroupId,
    instanceId: inst.instanceId,
    privateIp,
  };
}

/** Polls `check` until it returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 5_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
