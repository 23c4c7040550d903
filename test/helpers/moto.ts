// A real moto server (the AWS EC2 emulator) per test file on a free port, and a seeding helper that
// builds a gateway's VPC through the EC2 API the way an operator would have it in AWS.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  AllocateAddressCommand,
  AssociateAddressCommand,
  AssociateRouteTableCommand,
  AssociateVpcCidrBlockCommand,
  CreateRouteTableCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeInstancesCommand,
  DescribeRouteTablesCommand,
  EC2Client,
  ModifySubnetAttributeCommand,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { freePort } from '../../controller/temporal-dev';
import type { CloudTarget } from '../../cloud/types';

export interface Moto {
  endpoint: string;
  /** Forgets every resource (POST /moto-api/reset). */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

/** The moto_server binary: the project's virtualenv first (npm run setup installs it), else PATH. */
export function findMotoServer(): string | undefined {
  const local = path.resolve(__dirname, '..', '..', '.tools', 'venv', 'bin', 'moto_server');
  if (existsSync(local)) return local;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, 'moto_server');
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

export function motoAvailable(): { ok: true } | { ok: false; reason: string } {
  if (process.env.SKIP_MOTO === '1') return { ok: false, reason: 'SKIP_MOTO=1' };
  return findMotoServer() ? { ok: true } : { ok: false, reason: 'moto_server not found: run `npm run setup` (installs moto into .tools/venv)' };
}

/** True once moto itself answers (its state endpoint is cheap JSON). */
async function answers(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(`${endpoint}/moto-api/data.json`, { signal: AbortSignal.timeout(1_000) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

class ExitedEarly extends Error {}

async function launch(bin: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Moto> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn(bin, ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env });
  const tail: string[] = [];
  const collect = (b: Buffer) => {
    tail.push(...b.toString().split('\n').filter(Boolean));
    tail.splice(0, Math.max(0, tail.length - 30));
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const running = () => child.exitCode === null && child.signalCode === null;
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      /* already gone */
    }
  };
  // A crashed test process must not leave moto behind.
  const onExit = () => killGroup('SIGKILL');
  process.once('exit', onExit);
  const stop = async () => {
    process.off('exit', onExit);
    if (!running()) return;
    killGroup('SIGTERM');
    const killer = setTimeout(() => killGroup('SIGKILL'), 3_000);
    await exited;
    clearTimeout(killer);
  };

  const deadline = Date.now() + timeoutMs;
  while (!(running() && (await answers(endpoint)))) {
    if (!running()) {
      await stop();
      throw new ExitedEarly(`moto_server exited during start on ${endpoint}:\n${tail.join('\n')}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`moto_server did not answer on ${endpoint} within ${timeoutMs} ms:\n${tail.join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    endpoint,
    reset: async () => {
      const res = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      await res.body?.cancel();
      if (!res.ok) throw new Error(`moto reset answered ${res.status}`);
    },
    stop,
  };
}

/**
 * Starts moto_server on 127.0.0.1 and a free port, in its own process group. `enforceAuth` makes moto
 * check every request's access key (INITIAL_NO_AUTH_ACTION_COUNT=0), so unknown keys get AuthFailure.
 */
export async function startMoto(opts: { enforceAuth?: boolean; timeoutMs?: number } = {}): Promise<Moto> {
  const bin = findMotoServer();
  if (!bin) throw new Error('moto_server not found: run `npm run setup`');
  const env = { ...process.env, ...(opts.enforceAuth ? { INITIAL_NO_AUTH_ACTION_COUNT: '0' } : {}) };
  // The free port can be taken between probing and binding; moto then exits at once: try another.
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(bin, env, opts.timeoutMs ?? 30_000);
    } catch (err) {
      if (!(err instanceof ExitedEarly) || attempt === 3) throw err;
    }
  }
}

export const MOTO_REGION = 'eu-west-1';

/** A CloudTarget for the AWS provider pointed at moto (any keys work unless auth is enforced). */
export function motoTarget(endpoint: string, region = MOTO_REGION, credentials = { accessKeyId: 'AKIDMOTO', accessKeySecret: 'moto' }): CloudTarget {
  return { provider: 'aws', region, credentials, endpoints: { ec2: endpoint } };
}

/** An EC2 client for setting up and checking state in moto directly (not through the provider). */
export function motoEc2Client(endpoint: string, region = MOTO_REGION): EC2Client {
  return new EC2Client({ endpoint, region, maxAttempts: 1, credentials: { accessKeyId: 'AKIDMOTO', secretAccessKey: 'moto' } });
}

export interface SeededSite {
  region: string;
  vpcId: string;
  /** Primary, then secondary. */
  vpcCidrs: [string, string];
  /** The gateway's subnet (in the primary block), associated with `routeTableId`. */
  subnetId: string;
  /** A second subnet (in the secondary block) left on the main route table. */
  otherSubnetId: string;
  mainRouteTableId: string;
  /** The extra route table, associated with `subnetId`. */
  routeTableId: string;
  securityGroupId: string;
  instanceId: string;
  networkInterfaceId: string;
  privateIp: string;
  publicIp: string;
}

/** The /24 number `index` inside an IPv4 block ("10.10.0.0/16", 1 → "10.10.1.0/24"). */
function subnetOf(cidr: string, index: number): string {
  const base = cidr.split('/')[0]!.split('.').reduce((acc, o) => acc * 256 + Number(o), 0) + index * 256;
  return `${[24, 16, 8, 0].map((s) => Math.floor(base / 2 ** s) % 256).join('.')}/24`;
}

/**
 * Creates a gateway site through the EC2 API: VPC with a secondary block, two subnets, an extra route
 * table on the gateway's subnet, a security group and the gateway instance with a public IP. Without
 * `publicIp` moto assigns one (54.214.x.y, via the subnet's MapPublicIpOnLaunch); with it, an EIP with
 * exactly that address is allocated and associated (moto accepts any Address, e.g. from 203.0.113.0/24,
 * so namespace tests can use documentation addresses).
 */
export async function seedAwsSite(
  endpoint: string,
  opts: { region?: string; cidr?: string; secondaryCidr?: string; publicIp?: string; name?: string } = {},
): Promise<SeededSite> {
  const region = opts.region ?? MOTO_REGION;
  const ec2 = motoEc2Client(endpoint, region);
  const cidr = opts.cidr ?? '10.10.0.0/16';
  const secondaryCidr = opts.secondaryCidr ?? '10.11.0.0/16';
  const name = opts.name ?? 'gw';
  try {
    const vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: cidr }))).Vpc!.VpcId!;
    await ec2.send(new AssociateVpcCidrBlockCommand({ VpcId: vpcId, CidrBlock: secondaryCidr }));
    const subnetId = (await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: subnetOf(cidr, 1) }))).Subnet!.SubnetId!;
    const otherSubnetId = (await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: subnetOf(secondaryCidr, 1) }))).Subnet!.SubnetId!;
    if (!opts.publicIp) await ec2.send(new ModifySubnetAttributeCommand({ SubnetId: subnetId, MapPublicIpOnLaunch: { Value: true } }));
    const routeTableId = (await ec2.send(new CreateRouteTableCommand({ VpcId: vpcId }))).RouteTable!.RouteTableId!;
    await ec2.send(new AssociateRouteTableCommand({ RouteTableId: routeTableId, SubnetId: subnetId }));
    const main = await ec2.send(
      new DescribeRouteTablesCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }, { Name: 'association.main', Values: ['true'] }] }),
    );
    const mainRouteTableId = main.RouteTables![0]!.RouteTableId!;
    const securityGroupId = (await ec2.send(new CreateSecurityGroupCommand({ VpcId: vpcId, GroupName: `${name}-sg`, Description: `${name} gateway` })))
      .GroupId!;
    const run = await ec2.send(
      new RunInstancesCommand({ ImageId: 'ami-00000001', InstanceType: 't3.micro', MinCount: 1, MaxCount: 1, SubnetId: subnetId, SecurityGroupIds: [securityGroupId] }),
    );
    const instanceId = run.Instances![0]!.InstanceId!;
    if (opts.publicIp) {
      const eip = await ec2.send(new AllocateAddressCommand({ Domain: 'vpc', Address: opts.publicIp }));
      await ec2.send(new AssociateAddressCommand({ AllocationId: eip.AllocationId!, InstanceId: instanceId }));
    }
    const inst = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }))).Reservations![0]!.Instances![0]!;
    const eni = inst.NetworkInterfaces!.find((n) => n.Attachment?.DeviceIndex === 0)!;
    return {
      region,
      vpcId,
      vpcCidrs: [cidr, secondaryCidr],
      subnetId,
      otherSubnetId,
      mainRouteTableId,
      routeTableId,
      securityGroupId,
      instanceId,
      networkInterfaceId: eni.NetworkInterfaceId!,
      privateIp: inst.PrivateIpAddress!,
      publicIp: inst.PublicIpAddress!,
    };
  } finally {
    ec2.destroy();
  }
}
