// Both cloud emulators for a test: moto (AWS EC2) and the Alibaba fake, with a cloud account for
// each registered through the controller's API.
import { AliyunFake, type AliyunFakeOptions } from '../fakes/aliyun';
import { motoAvailable, startMoto } from './moto';
import type { TestController } from './controller';

export const ALIYUN_AK = 'LTAItestaccesskey';
export const ALIYUN_SECRET = 'aliyun-test-secret-0123456789';

export interface Clouds {
  aliyun: AliyunFake;
  moto: { endpoint: string; reset(): Promise<void>; stop(): Promise<void> };
  stop(): Promise<void>;
}

export { motoAvailable };

export async function startClouds(opts: Partial<AliyunFakeOptions> = {}): Promise<Clouds> {
  const [aliyun, moto] = await Promise.all([AliyunFake.start({ accessKeys: { [ALIYUN_AK]: ALIYUN_SECRET }, asyncDelayMs: 100, ...opts }), startMoto()]);
  return {
    aliyun,
    moto,
    async stop() {
      await Promise.allSettled([aliyun.stop(), moto.stop()]);
    },
  };
}

/** Registers one account per provider pointed at the emulators; returns their ids. */
export async function registerAccounts(ctl: TestController, clouds: Clouds): Promise<{ aliyun: string; aws: string }> {
  const a = await ctl.api<{ id: string }>('POST', '/api/cloud-accounts', {
    name: `aliyun-${Date.now()}`,
    provider: 'aliyun',
    credentials: { accessKeyId: ALIYUN_AK, accessKeySecret: ALIYUN_SECRET },
    endpoints: { vpc: clouds.aliyun.url, ecs: clouds.aliyun.url },
  });
  const w = await ctl.api<{ id: string }>('POST', '/api/cloud-accounts', {
    name: `aws-${Date.now()}`,
    provider: 'aws',
    credentials: { accessKeyId: 'AKIAMOTOTEST', accessKeySecret: 'moto-secret' },
    endpoints: { ec2: clouds.moto.endpoint },
  });
  if (a.status !== 201 || w.status !== 201) throw new Error(`registering accounts: ${a.status} ${w.status}`);
  return { aliyun: a.body.id, aws: w.body.id };
}
