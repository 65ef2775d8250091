/** What the admin API (and `vigil approvals`) needs of approvals, on one appliance or through a fleet's shared store. */
import type { Approver } from './decision-rules.ts';
import type { ApprovalRecord, ApprovalStatus } from './types.ts';

type Maybe<T> = T | Promise<T>;

export interface ApprovalsApi {
  list(status?: ApprovalStatus): Maybe<ApprovalRecord[]>;
  get(id: string): Maybe<ApprovalRecord | undefined>;
  decide(id: string, who: Approver, decision: 'approve' | 'deny', typed: string | null, address: string | null): Maybe<ApprovalRecord>;
}
