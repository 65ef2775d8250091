/** The label guard /metrics puts every label value through: closed vocabularies only, no digits runs, bounded. */
import { describe, expect, it } from 'vitest';
import { LabelGuard, MAX_VALUES } from '../../appliance/metrics/labels.ts';
import { PrometheusMetrics } from '../../appliance/metrics/prometheus.ts';

describe('LabelGuard', () => {
  it('keeps short words and error codes', () => {
    const g = new LabelGuard();
    expect(g.value('protocol', 'postgres')).toBe('postgres');
    expect(g.value('class', 'copy-out')).toBe('copy-out');
    expect(g.value('reason', 'E_JWT_EXPIRED')).toBe('E_JWT_EXPIRED');
  });

  it('turns anything a client could have chosen into "other"', () => {
    const g = new LabelGuard();
    for (const v of ['repo:acme/payments', 'SELECT * FROM customers', '4111111111111111', 'a4111111111111111', 'x1234', 'eyJhbGciOi.x.y', 'Alice', '', 'a'.repeat(40), 'ünïcode']) {
      expect(g.value('class', v), v).toBe('other');
    }
  });

  it('bounds the number of distinct values per label', () => {
    const g = new LabelGuard();
    for (let i = 0; i < MAX_VALUES; i++) expect(g.value('class', `c-${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26))}`)).not.toBe('other');
    expect(g.value('class', 'one-too-many')).toBe('other');
    expect(g.value('class', 'c-aa')).toBe('c-aa'); // a value already seen stays
    expect(g.value('protocol', 'ssh')).toBe('ssh'); // per label
  });

  it('PrometheusMetrics never exposes an unsafe value handed to it', async () => {
    const m = new PrometheusMetrics({ processMetrics: false });
    m.command('postgres', 'SELECT card_number FROM customers WHERE pan = 4111111111111111', 'allow');
    m.identityFailure('postgres', 'token eyJhbGciOiJFUzI1NiJ9 for repo:acme/x');
    const text = (await m.render()).text;
    expect(text).toContain('vigil_commands_total{protocol="postgres",class="other",decision="allow"} 1');
    expect(text).toContain('vigil_identity_failures_total{protocol="postgres",reason="other"} 1');
    expect(text).not.toMatch(/4111|customers|eyJ|acme/);
  });
});
