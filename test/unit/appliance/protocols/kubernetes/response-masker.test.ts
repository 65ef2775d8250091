/** What a response may carry back: strict PAN masking of every JSON string and key, Secret values redacted wherever a Secret appears, watch framing. */
import { describe, expect, it } from 'vitest';
import { MaskCounter } from '../../../../../appliance/pipeline/masking.ts';
import { bodyKind, JsonObjectSplitter, maskJson, REDACTED_BASE64 } from '../../../../../appliance/protocols/kubernetes/response-masker.ts';
import { jsonAccept } from '../../../../../appliance/protocols/kubernetes/exchange.ts';

const PAN = '4111111111111111';
const ctx = (o: { reveal?: string[]; secretsRequest?: boolean } = {}) => ({ masks: new MaskCounter(), reveal: o.reveal ?? [], secretsRequest: o.secretsRequest ?? false });
const secret = (name: string, extra: object = {}) => ({ kind: 'Secret', apiVersion: 'v1', metadata: { name, namespace: 'ns' }, data: { pw: Buffer.from('hunter2').toString('base64') }, ...extra });

describe('maskJson', () => {
  it('masks card numbers in values and keys, strictly, and counts them', () => {
    const c = ctx();
    const out = maskJson({ data: { card: PAN, [PAN]: 'x', note: `id${PAN}`, n: 4 } }, c);
    expect(JSON.stringify(out)).not.toContain(PAN);
    expect(out).toEqual({ data: { card: '411111******1111', '411111******1111': 'x', note: 'id411111******1111', n: 4 } });
    expect(c.masks.pan).toBe(3);
  });

  it('redacts a Secret, list items of a SecretList, Table rows, watch events and the last-applied annotation', () => {
    const c = ctx();
    const withAnnotation = secret('a', { metadata: { name: 'a', namespace: 'ns', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"data":{"pw":"aHVudGVyMg=="}}' } }, stringData: { raw: 'hunter2' } });
    const cases: unknown[] = [
      withAnnotation,
      { kind: 'SecretList', apiVersion: 'v1', items: [{ metadata: { name: 'b', namespace: 'ns' }, data: { pw: 'aHVudGVyMg==' } }] },
      { type: 'ADDED', object: secret('c') },
      { kind: 'List', items: [secret('d')] },
    ];
    for (const v of cases) expect(JSON.stringify(maskJson(v, c))).not.toMatch(/hunter2|aHVudGVyMg/);
    const table = { kind: 'Table', rows: [{ cells: ['e'], object: { metadata: { name: 'e', namespace: 'ns' }, data: { pw: 'aHVudGVyMg==' } } }] };
    expect(JSON.stringify(maskJson(table, ctx({ secretsRequest: true })))).not.toContain('aHVudGVyMg');
    expect((maskJson(secret('f'), ctx()) as { data: { pw: string } }).data.pw).toBe(REDACTED_BASE64);
  });

  it('reveals only the Secrets policy names, and still masks card numbers in them', () => {
    const out = maskJson({ kind: 'SecretList', items: [secret('keep'), secret('other')].map((s) => ({ ...s, stringData: { card: PAN } })) }, ctx({ reveal: ['ns/keep'] })) as { items: { data: { pw: string }; stringData: { card: string } }[] };
    expect(out.items[0]!.data.pw).toBe(Buffer.from('hunter2').toString('base64'));
    expect(out.items[0]!.stringData.card).toBe('411111******1111');
    expect(out.items[1]!.data.pw).toBe(REDACTED_BASE64);
  });

  it('leaves a ConfigMap\'s data alone (apart from card numbers)', () => {
    expect(maskJson({ kind: 'ConfigMap', data: { a: 'b' } }, ctx())).toEqual({ kind: 'ConfigMap', data: { a: 'b' } });
  });
});

describe('JsonObjectSplitter (watch framing)', () => {
  it('returns whole objects however the bytes are cut, strings with braces and escapes included', () => {
    const events = [{ type: 'ADDED', object: { s: 'a}b{"c\\' } }, { type: 'MODIFIED', object: { n: [1, { x: '}' }] } }];
    const bytes = Buffer.from(events.map((e) => JSON.stringify(e)).join('\n') + '\n');
    for (let step = 1; step <= 7; step++) {
      const s = new JsonObjectSplitter(1024);
      const out: unknown[] = [];
      for (let i = 0; i < bytes.length; i += step) out.push(...s.push(bytes.subarray(i, i + step)).map((b) => JSON.parse(b.toString()) as unknown));
      expect(out).toEqual(events);
      expect(s.partial).toBe(false);
    }
  });

  it('refuses what is not an object, and an event over the limit', () => {
    expect(() => new JsonObjectSplitter(1024).push(Buffer.from('["x"]'))).toThrow();
    expect(() => new JsonObjectSplitter(16).push(Buffer.from(JSON.stringify({ a: 'x'.repeat(40) })))).toThrow(/larger/);
    const s = new JsonObjectSplitter(16);
    expect(() => {
      s.push(Buffer.from('{"a":"'));
      s.push(Buffer.from('x'.repeat(40)));
    }).toThrow(/larger/);
    const cut = new JsonObjectSplitter(1024);
    cut.push(Buffer.from('{"a":'));
    expect(cut.partial).toBe(true);
  });
});

describe('content negotiation', () => {
  it('drops protobuf from Accept; JSON when nothing is left', () => {
    expect(jsonAccept('application/vnd.kubernetes.protobuf,application/json')).toBe('application/json');
    expect(jsonAccept('application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io')).toBe('application/json');
    expect(jsonAccept('application/json;as=Table;v=v1;g=meta.k8s.io,application/json')).toBe('application/json;as=Table;v=v1;g=meta.k8s.io,application/json');
    expect(jsonAccept(undefined)).toBe('application/json');
    expect(jsonAccept('application/com.github.proto-openapi.spec.v2@v1.0+protobuf')).toBe('application/json');
  });

  it('classifies bodies: JSON (and +json), text, empty, and everything else', () => {
    expect(bodyKind('application/json;stream=watch', 3)).toBe('json');
    expect(bodyKind('application/merge-patch+json', 3)).toBe('json');
    expect(bodyKind('text/plain; charset=utf-8', 3)).toBe('text');
    expect(bodyKind('application/vnd.kubernetes.protobuf', 0)).toBe('empty');
    expect(bodyKind('application/vnd.kubernetes.protobuf', 3)).toBe('other');
    expect(bodyKind('text/html', 3)).toBe('other');
    expect(bodyKind(undefined, 3)).toBe('other');
  });
});
