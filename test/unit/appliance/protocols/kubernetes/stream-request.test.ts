/**
 * Exec/attach/port-forward queries read as the API server reads them (url.ParseQuery, then the parameter
 * codec's conversions in k8s.io/apimachinery/pkg/runtime/conversion.go), and the query Vigil sends on.
 */
import { describe, expect, it } from 'vitest';
import { parseQueryStrict, programOf, StreamRequestError, streamFacts, streamRequest } from '../../../../../appliance/protocols/kubernetes/stream-request.ts';

describe('streamRequest', () => {
  it('command: every value in order; container: the first; flags: false only when absent, 0 or false', () => {
    const r = streamRequest('exec', 'command=sh&container=a&command=-c&container=b&command=echo+hi%21&stdin=&stdout=FALSE&stderr=0&tty=yes');
    expect(r.command).toEqual(['sh', '-c', 'echo hi!']);
    expect(r.container).toBe('a');
    expect([r.stdin, r.stdout, r.stderr, r.tty]).toEqual([true, false, false, true]);
    expect(r.canonicalQuery).toBe('command=sh&command=-c&command=echo%20hi!&container=a&stdin=true&tty=true');
  });

  it('keys are decoded too (%63ommand is command); unknown keys are not passed on', () => {
    const r = streamRequest('exec', '%63ommand=rm&%63ommand=%2Fetc%2Fpasswd&stdout=1&evil=1');
    expect(r.command).toEqual(['rm', '/etc/passwd']);
    expect(r.canonicalQuery).toBe('command=rm&command=%2Fetc%2Fpasswd&stdout=true');
  });

  it.each([['a;b'], ['command=%zz'], ['command=%e9'], ['command=\u00e9'], ['command=a b']])('refuses what Go would read otherwise: %s', (q) => {
    expect(() => streamRequest('exec', q)).toThrow(StreamRequestError);
  });

  it('attach has no command; port-forward keeps only ports', () => {
    expect(streamRequest('attach', 'command=rm&stdin=1&stdout=1').canonicalQuery).toBe('stdin=true&stdout=true');
    expect(streamRequest('portforward', 'ports=8080&ports=9090&command=x').canonicalQuery).toBe('ports=8080&ports=9090');
  });

  it('parseQueryStrict keeps empty values and skips empty parts', () => {
    expect([...parseQueryStrict('a&&b=&c=1')]).toEqual([['a', ['']], ['b', ['']], ['c', ['1']]]);
  });
});

describe('streamFacts', () => {
  const base = { class: 'interactive', command: 'get', tags: [], objects: ['ns/pods/exec/app'], attributes: { subresource: 'exec' } };
  it('program, argv, script of a shell, tags', () => {
    const f = streamFacts(base, streamRequest('exec', 'command=%2Fbin%2Fbash&command=-c&command=rm+-rf+%2Ftmp%2Fx&stdin=1&tty=1'));
    expect(f.attributes).toMatchObject({ program: 'bash', argv: '/bin/bash -c rm -rf /tmp/x', script: 'rm -rf /tmp/x', tty: 'true', stdin: 'true', container: '' });
    expect(f.tags).toEqual(['shell', 'tty', 'stdin']);
    expect(programOf([])).toBe('');
  });
});
