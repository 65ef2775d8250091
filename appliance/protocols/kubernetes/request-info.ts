/**
 * What a Kubernetes API request is, read from its method, path and query as the API server's own
 * RequestInfoFactory does (k8s.io/apiserver/pkg/endpoints/request/requestinfo.go, v1.33): resource
 * requests under /api and /apis (verb, API group, version, namespace, resource, subresource, name) and
 * non-resource URLs (/version, /healthz, /openapi/v3, /apis discovery…), whose verb is the lower-case
 * HTTP method. Policy decides on these facts, so they must be what the API server will authorize: a
 * path it would read differently is a hole, hence the line-by-line port and the table test modelled on
 * requestinfo_test.go (test/unit/kubernetes/request-info.test.ts).
 */

export interface RequestInfo {
  isResourceRequest: boolean;
  /** The path as the API server sees it (no target prefix, no query). */
  path: string;
  /** get, list, watch, create, update, patch, delete, deletecollection, proxy; for non-resource URLs the lower-case method. */
  verb: string;
  apiPrefix: string;
  apiGroup: string;
  apiVersion: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
  parts: string[];
}

/** Thrown for a resource path the API server itself refuses to interpret (e.g. /api/v1/watch). */
export class RequestInfoError extends Error {}

const API_PREFIXES = new Set(['api', 'apis']);
const GROUPLESS_API_PREFIXES = new Set(['api']);
/** Verbs given as a path segment: /api/v1/watch/…, /api/v1/proxy/… (deprecated, still served). */
const SPECIAL_VERBS = new Set(['proxy', 'watch']);
/** A proxy path's later segments are the proxied path, not a subresource. */
const SPECIAL_VERBS_NO_SUBRESOURCES = new Set(['proxy']);
/** /namespaces/{name}/{these} are subresources of the namespace, not a resource inside it. */
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

/** Go's strings.Split(strings.Trim(path, "/"), "/"), with the empty path as no parts. */
function splitPath(path: string): string[] {
  const trimmed = path.replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? [] : trimmed.split('/');
}

/**
 * `path` is the URL path as sent (percent-encoded); segments are decoded as Go's url.URL.Path is.
 * `query` is the URL's query parameters.
 */
export function requestInfo(method: string, rawPath: string, query: URLSearchParams): RequestInfo {
  const path = decodePath(rawPath);
  const info: RequestInfo = { isResourceRequest: false, path, verb: method.toLowerCase(), apiPrefix: '', apiGroup: '', apiVersion: '', namespace: '', resource: '', subresource: '', name: '', parts: [] };

  let current = splitPath(path);
  if (current.length < 3) return info;
  if (!API_PREFIXES.has(current[0]!)) return info;
  const apiPrefix = current[0]!;
  current = current.slice(1);

  let apiGroup = '';
  if (!GROUPLESS_API_PREFIXES.has(apiPrefix)) {
    // One part (the prefix) is consumed already: "do we have four parts?"
    if (current.length < 3) return info;
    apiGroup = current[0]!;
    current = current.slice(1);
  }
  info.apiPrefix = apiPrefix;
  info.apiGroup = apiGroup;
  info.isResourceRequest = true;
  info.apiVersion = current[0]!;
  current = current.slice(1);

  if (SPECIAL_VERBS.has(current[0]!)) {
    if (current.length < 2) throw new RequestInfoError(`unable to determine kind and namespace from url ${path}`);
    info.verb = current[0]!;
    current = current.slice(1);
  } else {
    info.verb = ({ POST: 'create', GET: 'get', HEAD: 'get', PUT: 'update', PATCH: 'patch', DELETE: 'delete' } as Record<string, string>)[method.toUpperCase()] ?? '';
  }

  if (current[0] === 'namespaces') {
    if (current.length > 1) {
      info.namespace = current[1]!;
      if (current.length > 2 && !NAMESPACE_SUBRESOURCES.has(current[2]!)) current = current.slice(2);
    }
  }
  info.parts = current;

  const p = info.parts;
  if (p.length >= 3 && !SPECIAL_VERBS_NO_SUBRESOURCES.has(info.verb)) info.subresource = p[2]!;
  if (p.length >= 2) info.name = p[1]!;
  if (p.length >= 1) info.resource = p[0]!;

  if (info.name === '' && info.verb === 'get') {
    info.verb = watchRequested(query) ? 'watch' : 'list';
    // A list narrowed to one name by `fieldSelector=metadata.name=x` is authorized as that name.
    const name = exactName(query.get('fieldSelector'));
    if (name !== undefined && isValidPathSegmentName(name)) info.name = name;
  }
  if (info.name === '' && info.verb === 'delete') info.verb = 'deletecollection';
  return info;
}

/** ListOptions.Watch as the parameter codec decodes it: a bool from the first `watch` value. */
function watchRequested(q: URLSearchParams): boolean {
  const v = q.getAll('watch')[0];
  if (v === undefined) return false;
  // strconv.ParseBool; anything it cannot parse fails decoding, and the API server then treats any
  // value other than false/0 as a watch.
  return !['false', '0', 'f', 'False', 'FALSE'].includes(v);
}

/** fields.Selector.RequiresExactMatch("metadata.name"): `metadata.name=x` or `metadata.name==x` among the terms. */
function exactName(selector: string | null): string | undefined {
  if (!selector) return undefined;
  for (const term of selector.split(',')) {
    const m = /^\s*metadata\.name\s*(==|=)\s*(.*?)\s*$/.exec(term);
    if (m) return m[2];
  }
  return undefined;
}

/** path.IsValidPathSegmentName: not `.` or `..`, no `/` or `%`. */
function isValidPathSegmentName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('%');
}

/**
 * Go's URL path decoding: %XX sequences decoded; an invalid escape is an error there (the request never
 * reaches request-info), so it is one here. An encoded slash (%2F) would make a segment hold a slash,
 * which the API server's router then sees as two segments; refused rather than guessed.
 */
function decodePath(raw: string): string {
  if (/%2f/i.test(raw)) throw new RequestInfoError('an encoded slash (%2F) in the path is not accepted');
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new RequestInfoError('the path holds an invalid percent-encoding');
  }
}
