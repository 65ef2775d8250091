/**
 * The fleet's session index for a window, as `vigil fleet sessions` writes it: not signed (it comes from
 * the shared store), a cross-check list — `vigil fleet verify --sessions` requires each session in it to be
 * in the bundle of the appliance named, and reports sessions the bundles hold that it does not list.
 */
import { z } from 'zod';
import { isoTimeSchema } from './schemas.ts';
import { parseJson, parseWith } from './signed.ts';

export const fleetSessionsSchema = z.object({
  format: z.literal('vigil-fleet-sessions'),
  version: z.literal(1),
  createdAt: isoTimeSchema,
  range: z.object({ since: isoTimeSchema.nullable(), until: isoTimeSchema.nullable() }),
  sessions: z
    .array(
      z.object({
        applianceId: z.string().max(64),
        sessionId: z.string().max(64),
        seq: z.number().int().positive(),
        protocol: z.string().max(32),
        startedAt: isoTimeSchema,
        subject: z.string().max(1024).nullable(),
        target: z.string().max(256).nullable(),
      }),
    )
    .max(10_000_000),
});
export type FleetSessions = z.infer<typeof fleetSessionsSchema>;

export function parseFleetSessions(text: string): FleetSessions {
  return parseWith(fleetSessionsSchema, parseJson(text, 'fleet sessions'), 'fleet sessions');
}
