// Failure messages and stack traces go through the payload codec too (encodeCommonAttributes), so
// an error that names a gateway, an address or a provider's answer is encrypted in Temporal like
// every other payload. Loaded by path into the workflow bundle, the worker and the client.
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
