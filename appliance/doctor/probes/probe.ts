/** A reachability probe for one protocol's targets: connects as the gateway would, sends no credential. */
import type { DoctorStatus } from '../check.ts';

export type TargetProbe = (target: { name: string; protocol: string }, resolvePath: (p: string) => string) => Promise<{ status: DoctorStatus; detail: string; fix?: string }>;
