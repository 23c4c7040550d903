// Budget queue names, free of dependencies so workflow code can import them.
import type { CloudProviderName } from './types';

/** Providers meter APIs separately, so writes and the status polls that follow them get separate budgets. */
export const API_CLASSES = ['describe', 'routeWrite', 'routeRead', 'securityGroup', 'instance'] as const;
export type ApiClass = (typeof API_CLASSES)[number];

export interface BudgetKey {
  provider: CloudProviderName;
  accountId: string;
  region: string;
  api: ApiClass;
}

/** The task queue that carries one budget's calls. */
export function budgetQueue(base: string, budget: BudgetKey): string {
  return `${base}.cloud.${budget.provider}.${budget.accountId}.${budget.region}.${budget.api}`;
}
