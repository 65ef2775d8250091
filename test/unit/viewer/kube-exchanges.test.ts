/**
 * The viewer's Kubernetes exchange list (viewer/src/model/kube.ts) from recorded events: what is not in the
 * evidence is said so (an omitted Secret body, a truncated body, a blocked request with no response),
 * watches and log streams gather their events, and a character split across two log chunks decodes whole.
 * The page itself is exercised with real kubectl evidence in test/e2e/viewer-kube.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { EvidenceEvent } from '../../../shared/evidence/events.ts';
import { impersonation, isKube, kubeExchanges, objectOf, readableBody } from '../../../viewer/src/model/kube.ts';

const enc = new TextEncoder();
const ev = (e: Record<string, unknown>): EvidenceEvent => e as EvidenceEvent;
const cmd = (id: number, method: string, path: string, request: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  ev({ type: 'command', id, kind: 'k8s', text: `${method} ${path}`, method, path, request, t: id * 10, ...extra });

const events: EvidenceEvent[] = [
  ev({ type: 'session.open', protocol: 'kubernetes', t: 0 }),
  ev({ type: 'notice', kind: 'impersonation', user: 'repo:acme/x', groups: ['g1', 'g2'], t: 1 }),
  cmd(1, 'POST', '/api/v1/namespaces/a/secrets', { verb: 'create', group: '', version: 'v1', resource: 'secrets', namespace: 'a', name: '' }, { bodyBytes: 120, bodyOmitted: 'secret values' }),
  ev({ type: 'decision', command: 1, decision: 'allow', rule: 'r/w' }),
  ev({ type: 'result', command: 1, status: 201, contentType: 'application/json', bytes: 300, bodyOmitted: 'secret values', secretsRedacted: true, durationMs: 4 }),
  cmd(2, 'DELETE', '/api/v1/namespaces/a', { verb: 'delete', group: '', version: 'v1', resource: 'namespaces', namespace: 'a', name: 'a' }),
  ev({ type: 'decision', command: 2, decision: 'block', rule: 'r/no', reason: 'never' }),
  cmd(3, 'GET', '/api/v1/namespaces/a/configmaps', { verb: 'watch', group: '', version: 'v1', resource: 'configmaps', namespace: 'a', name: '' }),
  ev({ type: 'decision', command: 3, decision: 'allow' }),
  ev({ type: 'notice', kind: 'watch-event', command: 3, event: 'ADDED', object: 'a/c1', body: '{"kind":"ConfigMap"}', t: 35 }),
  ev({ type: 'notice', kind: 'watch-event', command: 3, event: 'DELETED', object: 'a/c1', body: '{"kind":"ConfigMap"}', t: 36 }),
  ev({ type: 'result', command: 3, status: 200, watch: true, events: 2, end: 'client closed', durationMs: 900 }),
  cmd(4, 'GET', '/api/v1/namespaces/a/pods/p/log', { verb: 'get', group: '', version: 'v1', resource: 'pods', subresource: 'log', namespace: 'a', name: 'p' }),
  ev({ type: 'output', command: 4, stream: 'log', data: enc.encode('caf\u00e9').slice(0, 4) }),
  ev({ type: 'output', command: 4, stream: 'log', data: enc.encode('caf\u00e9\n').slice(4) }),
  ev({ type: 'result', command: 4, status: 200, stream: 'log', bytes: 6, end: 'stream ended' }),
  cmd(5, 'GET', '/version', { nonResource: true, verb: 'get', path: '/version' }),
  ev({ type: 'result', command: 5, status: 200, contentType: 'application/json', bytes: 9000, body: '{"major":"1","mi', bodyTruncated: true }),
];

describe('Kubernetes exchanges in the viewer', () => {
  const x = kubeExchanges(events);

  it('one row per request with its facts, decision and status', () => {
    expect(isKube(events)).toBe(true);
    expect(isKube([ev({ type: 'session.open', protocol: 'postgres' })])).toBe(false);
    expect(x.map((r) => [r.id, r.verb, r.resource, objectOf(r), r.status, r.statement.decision])).toEqual([
      [1, 'create', 'v1/secrets', 'a/*', 201, 'allow'],
      [2, 'delete', 'v1/namespaces', 'a', null, 'block'],
      [3, 'watch', 'v1/configmaps', 'a/*', 200, 'allow'],
      [4, 'get', 'v1/pods/log', 'a/p', 200, null],
      [5, 'get', '/version', '—', 200, null],
    ]);
    expect(impersonation(events)).toEqual({ user: 'repo:acme/x', groups: ['g1', 'g2'] });
    expect(impersonation(events.filter((e) => e.kind !== 'impersonation'))).toBeNull();
  });

  it('bodies the evidence does not hold say why; a truncated body says so; none is shown as empty', () => {
    expect(x[0]!.request).toEqual({ bytes: 120, text: null, truncated: false, omitted: 'secret values' });
    expect(x[0]!.response).toEqual({ bytes: 300, text: null, truncated: false, omitted: 'secret values' });
    expect(x[0]!.secretsRedacted).toBe(true);
    expect(x[1]!.request).toBeNull();
    expect(x[1]!.response).toBeNull();
    expect(x[4]!.response).toEqual({ bytes: 9000, text: '{"major":"1","mi', truncated: true, omitted: null });
    // JSON cut short stays as recorded; whole JSON is formatted for reading.
    expect(readableBody('{"major":"1","mi')).toBe('{"major":"1","mi');
    expect(readableBody('{"a":1}')).toBe('{\n  "a": 1\n}');
  });

  it('a watch gathers its events and its end; a log stream its text, decoded across chunks', () => {
    expect(x[2]!.watch).toEqual({ events: [{ t: 35, event: 'ADDED', object: 'a/c1', body: '{"kind":"ConfigMap"}' }, { t: 36, event: 'DELETED', object: 'a/c1', body: '{"kind":"ConfigMap"}' }], end: 'client closed' });
    expect(x[2]!.response).toBeNull();
    expect(x[3]!.stream).toEqual({ bytes: 6, text: 'caf\u00e9\n', end: 'stream ended' });
  });
});
