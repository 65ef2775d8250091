/** SessionTelemetry over the real prom-client registry: holds, decisions, masking and close outcomes; its log lines. */
import { describe, expect, it } from 'vitest';
import { PrometheusMetrics } from '../../appliance/metrics/prometheus.ts';
import { SessionTelemetry } from '../../appliance/pipeline/session-telemetry.ts';

describe('SessionTelemetry', () => {
  it('counts a hold while pending and its decision latency when it ends; logs blocks, holds and outcomes with the session id', async () => {
    const m = new PrometheusMetrics({ processMetrics: false });
    const lines: Record<string, unknown>[] = [];
    const logger = { info: (o: object) => lines.push(o as Record<string, unknown>), warn: (o: object) => lines.push(o as Record<string, unknown>) };
    const t = new SessionTelemetry('5b0c7f5e-4a0e-4c55-9f0b-2f7c0c3d9a11', 'postgres', { metrics: m, logger });
    t.opened(7, '127.0.0.1');
    t.decided(1, 'allow', 'p/read', ['read'], undefined);
    t.decided(2, 'hold', 'p/writes-need-approval', ['write'], 'writes need an approver');
    t.holdRequested();
    let text = (await m.render()).text;
    expect(text).toContain('vigil_approvals_pending 1');
    t.holdEnded(2, 'apr_x', 'approved');
    t.masked({ pan: 3, redacted: 0 });
    t.closed('served', 'client closed the connection after paying with 4111 1111 1111 1111');
    text = (await m.render()).text;
    expect(text).toContain('vigil_approvals_pending 0');
    expect(text).toContain('vigil_approval_decision_seconds_count{outcome="approved"} 1');
    expect(text).toContain('vigil_commands_total{protocol="postgres",class="write",decision="hold"} 1');
    expect(text).toContain('vigil_masked_values_total{kind="pan"} 3');
    expect(text).toContain('vigil_sessions_total{protocol="postgres",outcome="served"} 1');
    expect(text).toContain('vigil_sessions_open{protocol="postgres"} 0');
    expect(lines.map((l) => l['event'])).toEqual(['session.opened', 'command.decided', 'approval.ended', 'session.closed']);
    for (const l of lines) expect(l['sessionId']).toBe('5b0c7f5e-4a0e-4c55-9f0b-2f7c0c3d9a11');
    expect(String(lines.at(-1)!['reason'])).not.toContain('4111 1111 1111 1111');
  });
});
