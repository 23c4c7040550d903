// Builds the EC2 client for one CloudTarget. The SDK's own retries are off (maxAttempts 1): retries
// belong to our Temporal activities, and one activity must equal one API call for rate limiting.
import { EC2Client } from '@aws-sdk/client-ec2';
import type { CloudTarget } from '../types';

export interface Ec2ClientOptions {
  /** Abandon a connection attempt after this long (default 5 s). */
  connectTimeoutMs?: number;
  /** Abandon a whole request after this long (default 30 s), so a hung call fails the activity attempt. */
  requestTimeoutMs?: number;
}

/**
 * target.endpoints.ec2 is used as given, plain http included: which endpoints an account may use
 * (https, provider domains, CLOUD_ENDPOINT_ALLOW) is decided where accounts come in and are used,
 * by the API and providerResolver (cloud/endpoint-policy.ts); tests build providers on moto directly.
 */
export function createEc2Client(target: CloudTarget, opts: Ec2ClientOptions = {}): EC2Client {
  const creds = target.credentials;
  return new EC2Client({
    region: target.region,
    maxAttempts: 1,
    ...(target.endpoints?.ec2 ? { endpoint: target.endpoints.ec2 } : {}),
    // Without explicit keys the SDK's default chain applies (env, shared config, SSO, instance role).
    ...(creds
      ? {
          credentials: {
            accessKeyId: creds.accessKeyId,
            secretAccessKey: creds.accessKeySecret,
            ...(creds.securityToken ? { sessionToken: creds.securityToken } : {}),
          },
        }
      : {}),
    requestHandler: {
      connectionTimeout: opts.connectTimeoutMs ?? 5_000,
      requestTimeout: opts.requestTimeoutMs ?? 30_000,
      throwOnRequestTimeout: true,
    },
  });
}
