/**
 * Policy facts for one Kubernetes API request (docs/kubernetes-gateway.md, "Policy"): the class from the
 * verb, the command = the verb, one object `namespace/resource/name`, and the request-info fields as
 * attributes for `when.attributes`.
 */
import type { CommandFacts } from '../../policy/engine.ts';
import type { RequestInfo } from './request-info.ts';

/** Subresources that open a stream into a container or a proxied connection. */
const INTERACTIVE_SUBRESOURCES = new Set(['exec', 'attach', 'portforward', 'proxy']);

export type KubeClass = 'read' | 'write' | 'delete' | 'interactive';

export function classOf(info: RequestInfo): KubeClass {
  if (info.verb === 'proxy' || (info.isResourceRequest && INTERACTIVE_SUBRESOURCES.has(info.subresource))) return 'interactive';
  switch (info.verb) {
    case 'get':
    case 'list':
    case 'watch':
    case 'head':
    case 'options':
      return 'read';
    case 'delete':
    case 'deletecollection':
      return 'delete';
    default:
      return 'write';
  }
}

/**
 * The resource as policy names it: `configmaps` for the core group, `deployments.apps` otherwise (the
 * spelling `kubectl api-resources` prints), with `/subresource` when there is one.
 */
export function resourceName(info: RequestInfo): string {
  return `${info.resource}${info.apiGroup ? `.${info.apiGroup}` : ''}${info.subresource ? `/${info.subresource}` : ''}`;
}

/**
 * The object a request touches: `namespace/resource/name`. A cluster-scoped one has no namespace
 * (`/namespaces/payments`, `/nodes/n1`); a request for every name (list, watch, create, deletecollection)
 * has `*` as its name, and a non-resource URL is its path (`/version`).
 */
export function objectOf(info: RequestInfo): string {
  if (!info.isResourceRequest) return info.path;
  return `${info.namespace}/${resourceName(info)}/${info.name || '*'}`;
}

export function kubeFacts(info: RequestInfo): CommandFacts {
  const tags: string[] = [];
  if (!info.isResourceRequest) tags.push('non-resource');
  if (info.resource === 'secrets' && info.apiGroup === '') tags.push('secrets');
  return {
    class: classOf(info),
    command: info.verb,
    tags,
    objects: [objectOf(info)],
    attributes: info.isResourceRequest
      ? { group: info.apiGroup, version: info.apiVersion, resource: info.resource, subresource: info.subresource, namespace: info.namespace, name: info.name, verb: info.verb }
      : { path: info.path, verb: info.verb },
  };
}

/** Whether the request reads Secret values (get, list, watch of core secrets). */
export function readsSecrets(info: RequestInfo): boolean {
  return info.isResourceRequest && info.apiGroup === '' && info.resource === 'secrets' && info.subresource === '' && ['get', 'list', 'watch'].includes(info.verb);
}
