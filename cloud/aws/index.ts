// The AWS provider's public surface; everything else in this folder is its implementation.
export { createAwsProvider, type AwsProvider, type AwsProviderOptions } from './provider';
export { createEc2Client, type Ec2ClientOptions } from './client';
export { toCloudError, awsErrorCode } from './errors';
export type { PresentPeerRule } from './security-groups';
