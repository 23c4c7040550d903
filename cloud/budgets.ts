// Rate-limit budgets: one Temporal task queue per provider + account + region + API class, whose
// workers all set the same maxTaskQueueActivitiesPerSecond, so the Temporal server enforces the
// budget for every controller process together (DESIGN §2). Each activity on such a queue makes
// exactly one provider call, so activities per second = API calls per second.
import { z } from 'zod';
import type { CloudProviderName } from './types';
import { API_CLASSES, type ApiClass } from './queues';
import { PROVIDER_NAMES } from './capabilities';

export { API_CLASSES, type ApiClass };

/**
 * Defaults, in calls per second, kept below the documented limits:
 * - AWS EC2 throttles per account and region with token buckets; mutating actions (CreateRoute,
 *   DeleteRoute, AuthorizeSecurityGroupIngress, ModifyInstanceAttribute) refill at 5/s and
 *   describe actions at 20/s in the default bucket sizes (EC2 API "Request throttling").
 * - Alibaba Cloud VPC and ECS limit each API per account (Throttling.User); route-entry writes are
 *   additionally serialised per route table by the controller (entries are asynchronous).
 */
export const DEFAULT_BUDGETS: Record<CloudProviderName, Record<ApiClass, number>> = {
  aws: { describe: 20, routeWrite: 5, routeRead: 20, securityGroup: 5, instance: 5 },
  aliyun: { describe: 10, routeWrite: 10, routeRead: 20, securityGroup: 10, instance: 10 },
};

/** CLOUD_RATE_LIMITS: JSON overriding defaults, e.g. {"aliyun":{"routeWrite":20},"aws":{"describe":10}}. */
export const BudgetOverrides = z
  .partialRecord(z.enum(PROVIDER_NAMES), z.partialRecord(z.enum(API_CLASSES), z.number().positive().max(10_000)))
  .default({});
export type BudgetOverrides = z.infer<typeof BudgetOverrides>;

export function budgetFor(provider: CloudProviderName, api: ApiClass, overrides: BudgetOverrides = {}): number {
  return overrides[provider]?.[api] ?? DEFAULT_BUDGETS[provider][api];
}

export { budgetQueue, type BudgetKey } from './queues';
