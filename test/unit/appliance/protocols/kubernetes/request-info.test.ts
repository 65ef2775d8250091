/**
 * Request facts as the API server reads them: the table of k8s.io/apiserver's requestinfo_test.go
 * (TestGetAPIRequestInfo, TestGetNonAPIRequestInfo, TestInvalidRequestInfo, the field-selector cases),
 * row for row where it applies, then the policy facts built from them.
 */
import { describe, expect, it } from 'vitest';
import { classOf, kubeFacts, objectOf } from '../../../../../appliance/protocols/kubernetes/facts.ts';
import { requestInfo, RequestInfoError } from '../../../../../appliance/protocols/kubernetes/request-info.ts';

const info = (method: string, url: string) => {
  const q = url.indexOf('?');
  return requestInfo(method, q < 0 ? url : url.slice(0, q), new URLSearchParams(q < 0 ? '' : url.slice(q + 1)));
};

// method, url, verb, apiPrefix, group, version, namespace, resource, subresource, name, parts
const API_CASES: [string, string, string, string, string, string, string, string, string, string, string[]][] = [
  // resource paths
  ['GET', '/api/v1/namespaces', 'list', 'api', '', 'v1', '', 'namespaces', '', '', ['namespaces']],
  ['GET', '/api/v1/namespaces/other', 'get', 'api', '', 'v1', 'other', 'namespaces', '', 'other', ['namespaces', 'other']],
  ['GET', '/api/v1/namespaces/other/pods', 'list', 'api', '', 'v1', 'other', 'pods', '', '', ['pods']],
  ['GET', '/api/v1/namespaces/other/pods/foo', 'get', 'api', '', 'v1', 'other', 'pods', '', 'foo', ['pods', 'foo']],
  ['HEAD', '/api/v1/namespaces/other/pods/foo', 'get', 'api', '', 'v1', 'other', 'pods', '', 'foo', ['pods', 'foo']],
  ['GET', '/api/v1/pods', 'list', 'api', '', 'v1', '', 'pods', '', '', ['pods']],
  ['HEAD', '/api/v1/pods', 'list', 'api', '', 'v1', '', 'pods', '', '', ['pods']],
  ['GET', '/api/v1/namespaces/other/pods/foo', 'get', 'api', '', 'v1', 'other', 'pods', '', 'foo', ['pods', 'foo']],
  ['GET', '/api/v1/namespaces/other/pods', 'list', 'api', '', 'v1', 'other', 'pods', '', '', ['pods']],
  // special verbs
  ['GET', '/api/v1/proxy/namespaces/other/pods/foo', 'proxy', 'api', '', 'v1', 'other', 'pods', '', 'foo', ['pods', 'foo']],
  ['GET', '/api/v1/proxy/namespaces/other/pods/foo/subpath/not/a/subresource', 'proxy', 'api', '', 'v1', 'other', 'pods', '', 'foo', ['pods', 'foo', 'subpath', 'not', 'a', 'subresource']],
  ['GET', '/api/v1/watch/pods', 'watch', 'api', '', 'v1', '', 'pods', '', '', ['pods']],
  ['GET', '/api/v1/pods?watch=true', 'watch', 'api', '', 'v1', '', 'pods', '', '', ['pods']],
  ['GET', '/api/v1/pods?watch=false', 'list', 'api', '', 'v1', '', 'pods', '', '', ['pods']],
  ['GET', '/api/v1/watch/namespaces/other/pods', 'watch', 'api', '', 'v1', 'other', 'pods', '', '', ['pods']],
  ['GET', '/api/v1/namespaces/other/pods?watch=1', 'watch', 'api', '', 'v1', 'other', 'pods', '', '', ['pods']],
  ['GET', '/api/v1/namespaces/other/pods?watch=0', 'list', 'api', '', 'v1', 'other', 'pods', '', '', ['pods']],
  // subresource identification
  ['GET', '/api/v1/namespaces/other/pods/foo/status', 'get', 'api', '', 'v1', 'other', 'pods', 'status', 'foo', ['pods', 'foo', 'status']],
  ['GET', '/api/v1/namespaces/other/pods/foo/proxy/subpath', 'get', 'api', '', 'v1', 'other', 'pods', 'proxy', 'foo', ['pods', 'foo', 'proxy', 'subpath']],
  ['PUT', '/api/v1/namespaces/other/finalize', 'update', 'api', '', 'v1', 'other', 'namespaces', 'finalize', 'other', ['namespaces', 'other', 'finalize']],
  ['PUT', '/api/v1/namespaces/other/status', 'update', 'api', '', 'v1', 'other', 'namespaces', 'status', 'other', ['namespaces', 'other', 'status']],
  // verb identification
  ['PATCH', '/api/v1/namespaces/other/pods/foo', 'patch', 'api', '', 'v1', 'other', 'pods', '', 'foo', ['pods', 'foo']],
  ['DELETE', '/api/v1/namespaces/other/pods/foo', 'delete', 'api', '', 'v1', 'other', 'pods', '', 'foo', ['pods', 'foo']],
  ['POST', '/api/v1/namespaces/other/pods', 'create', 'api', '', 'v1', 'other', 'pods', '', '', ['pods']],
  // deletecollection verb identification
  ['DELETE', '/api/v1/nodes', 'deletecollection', 'api', '', 'v1', '', 'nodes', '', '', ['nodes']],
  ['DELETE', '/api/v1/namespaces', 'deletecollection', 'api', '', 'v1', '', 'namespaces', '', '', ['namespaces']],
  ['DELETE', '/api/v1/namespaces/other/pods', 'deletecollection', 'api', '', 'v1', 'other', 'pods', '', '', ['pods']],
  ['DELETE', '/apis/extensions/v1/namespaces/other/pods', 'deletecollection', 'apis', 'extensions', 'v1', 'other', 'pods', '', '', ['pods']],
  // api group identification
  ['POST', '/apis/extensions/v1/namespaces/other/pods', 'create', 'apis', 'extensions', 'v1', 'other', 'pods', '', '', ['pods']],
  // api version identification
  ['POST', '/apis/extensions/v1beta3/namespaces/other/pods', 'create', 'apis', 'extensions', 'v1beta3', 'other', 'pods', '', '', ['pods']],
  // what kubectl sends (not in the Go table)
  ['PATCH', '/apis/apps/v1/namespaces/cde/deployments/web', 'patch', 'apis', 'apps', 'v1', 'cde', 'deployments', '', 'web', ['deployments', 'web']],
  ['POST', '/api/v1/namespaces/payments/pods/app/exec', 'create', 'api', '', 'v1', 'payments', 'pods', 'exec', 'app', ['pods', 'app', 'exec']],
  ['GET', '/api/v1/namespaces/payments/pods/app/log', 'get', 'api', '', 'v1', 'payments', 'pods', 'log', 'app', ['pods', 'app', 'log']],
  ['POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', 'create', 'apis', 'authorization.k8s.io', 'v1', '', 'selfsubjectaccessreviews', '', '', ['selfsubjectaccessreviews']],
  ['DELETE', '/api/v1/namespaces/kept', 'delete', 'api', '', 'v1', 'kept', 'namespaces', '', 'kept', ['namespaces', 'kept']],
];

describe('requestInfo: resource requests (requestinfo_test.go TestGetAPIRequestInfo)', () => {
  it.each(API_CASES)('%s %s', (method, url, verb, prefix, group, version, namespace, resource, subresource, name, parts) => {
    const r = info(method, url);
    expect(r).toMatchObject({ isResourceRequest: true, verb, apiPrefix: prefix, apiGroup: group, apiVersion: version, namespace, resource, subresource, name, parts });
  });
});

describe('requestInfo: non-resource requests (TestGetNonAPIRequestInfo)', () => {
  it.each([
    ['/', false],
    ['/healthz', false],
    ['/version', false],
    ['/api', false],
    ['/apis', false],
    ['/api/v1', false],
    ['/apis/apps', false],
    ['/apis/apps/v1', false],
    ['/openapi/v2', false],
    ['/openapi/v3/apis/apps/v1', false],
    ['/metrics', false],
    ['/other', false],
    ['/api/v1/namespaces', true],
    ['/apis/extensions/v1/namespaces', true],
    // prefixes the API server does not serve resources under
    ['/badprefix/version/resource', false],
    ['/apis/version/resource', false], // "missing api group": too few parts after /apis
  ] as const)('GET %s', (url, resource) => {
    const r = info('GET', url);
    expect(r.isResourceRequest).toBe(resource);
    if (!resource) {
      expect(r.verb).toBe('get');
      expect(r.path).toBe(url);
    }
  });

  it('a non-resource verb is the lower-case method', () => {
    expect(info('POST', '/version').verb).toBe('post');
  });
});

describe('requestInfo: paths it refuses (TestInvalidRequestInfo)', () => {
  it.each(['/api/v1/watch', '/api/v1/proxy', '/apis/apps/v1/watch'])('GET %s', (url) => {
    expect(() => info('GET', url)).toThrow(RequestInfoError);
  });
  it('refuses an encoded slash and a broken escape rather than guess what the router sees', () => {
    expect(() => info('GET', '/api/v1/namespaces/a%2Fb/secrets')).toThrow(RequestInfoError);
    expect(() => info('GET', '/api/v1/namespaces/%zz/secrets')).toThrow(RequestInfoError);
  });
  it('decodes percent-escapes in segments as Go does', () => {
    expect(info('GET', '/api/v1/namespaces/k%61pp/secrets/db')).toMatchObject({ namespace: 'kapp', resource: 'secrets', name: 'db' });
  });
});

describe('requestInfo: field selectors (TestFieldSelectorParsing)', () => {
  it.each([
    ['/api/v1/namespaces/other/pods?fieldSelector=metadata.name%3Dfoo', 'list', 'foo'],
    ['/api/v1/namespaces/other/pods?fieldSelector=metadata.name%3D%3Dfoo', 'list', 'foo'],
    ['/api/v1/namespaces/other/pods?fieldSelector=metadata.name%3Dfoo&watch=true', 'watch', 'foo'],
    ['/api/v1/namespaces/other/pods?fieldSelector=metadata.name%21%3Dfoo', 'list', ''],
    ['/api/v1/namespaces/other/pods?fieldSelector=spec.nodeName%3Dn1', 'list', ''],
  ])('GET %s', (url, verb, name) => {
    expect(info('GET', url)).toMatchObject({ verb, name });
  });
});

describe('policy facts', () => {
  it('class from the verb; exec, attach, port-forward and proxy are interactive; logs are reads', () => {
    expect(classOf(info('GET', '/api/v1/namespaces/a/configmaps'))).toBe('read');
    expect(classOf(info('GET', '/api/v1/namespaces/a/configmaps?watch=1'))).toBe('read');
    expect(classOf(info('POST', '/api/v1/namespaces/a/configmaps'))).toBe('write');
    expect(classOf(info('PUT', '/api/v1/namespaces/a/configmaps/x'))).toBe('write');
    expect(classOf(info('PATCH', '/apis/apps/v1/namespaces/a/deployments/x'))).toBe('write');
    expect(classOf(info('DELETE', '/api/v1/namespaces/a/configmaps/x'))).toBe('delete');
    expect(classOf(info('DELETE', '/api/v1/namespaces/a/configmaps'))).toBe('delete');
    expect(classOf(info('POST', '/api/v1/namespaces/a/pods/p/exec'))).toBe('interactive');
    expect(classOf(info('GET', '/api/v1/namespaces/a/pods/p/exec'))).toBe('interactive');
    expect(classOf(info('POST', '/api/v1/namespaces/a/pods/p/attach'))).toBe('interactive');
    expect(classOf(info('POST', '/api/v1/namespaces/a/pods/p/portforward'))).toBe('interactive');
    expect(classOf(info('GET', '/api/v1/namespaces/a/services/s/proxy/x'))).toBe('interactive');
    expect(classOf(info('GET', '/api/v1/proxy/namespaces/a/pods/p'))).toBe('interactive');
    expect(classOf(info('GET', '/api/v1/namespaces/a/pods/p/log'))).toBe('read');
    expect(classOf(info('GET', '/version'))).toBe('read');
  });

  it('objects are namespace/resource/name, the group after the resource, * for every name', () => {
    expect(objectOf(info('GET', '/api/v1/namespaces/a/secrets/db'))).toBe('a/secrets/db');
    expect(objectOf(info('GET', '/api/v1/namespaces/a/secrets'))).toBe('a/secrets/*');
    expect(objectOf(info('PATCH', '/apis/apps/v1/namespaces/cde/deployments/web'))).toBe('cde/deployments.apps/web');
    expect(objectOf(info('DELETE', '/api/v1/namespaces/payments'))).toBe('payments/namespaces/payments');
    expect(objectOf(info('GET', '/api/v1/nodes/n1'))).toBe('/nodes/n1');
    expect(objectOf(info('POST', '/api/v1/namespaces/payments/pods/app/exec'))).toBe('payments/pods/exec/app');
    expect(objectOf(info('GET', '/version'))).toBe('/version');
  });

  it('command = verb, attributes the request-info fields, secrets tagged', () => {
    const f = kubeFacts(info('GET', '/api/v1/namespaces/a/secrets/db'));
    expect(f).toEqual({
      class: 'read',
      command: 'get',
      tags: ['secrets'],
      objects: ['a/secrets/db'],
      attributes: { group: '', version: 'v1', resource: 'secrets', subresource: '', namespace: 'a', name: 'db', verb: 'get' },
    });
    expect(kubeFacts(info('GET', '/healthz'))).toMatchObject({ class: 'read', command: 'get', tags: ['non-resource'], attributes: { path: '/healthz', verb: 'get' } });
  });
});
