/** The admin API listener (listeners.admin in vigil.yaml): HTTPS only. */
import { z } from 'zod';
import { hostPort } from '../net/host-port.ts';

export const adminListenerSchema = z.strictObject({
  address: hostPort.default('127.0.0.1:8443'),
  tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }),
  /**
   * GET /metrics (Prometheus) needs `Authorization: Bearer <the token in tokenFile>` (Prometheus:
   * `authorization: { credentials_file: … }`); without this block /metrics is not served.
   */
  metrics: z.strictObject({ tokenFile: z.string().min(1) }).optional(),
});
export type AdminListenerConfig = z.infer<typeof adminListenerSchema>;
