/**
 * Endpoints a protocol adds to the admin HTTPS API (RunningProtocol.routes): the admin server authenticates
 * the caller's identity token, parses the JSON body and answers errors in its usual shape; the route
 * decides what the verified identity may do. Unlike the approvals endpoints, any identity a provider in
 * vigil.yaml vouches for reaches a route: its handler checks policy itself.
 */
import type { VerifiedIdentity } from '../identity/index.ts';

export interface RouteRequest {
  body: Record<string, unknown>;
  identity: VerifiedIdentity;
  /** The caller's address, for the record. */
  address: string | null;
}

export interface ApiRoute {
  method: 'GET' | 'POST';
  /** An exact path under /v1/ (e.g. /v1/ssh/certificates). */
  path: string;
  handle(req: RouteRequest): Promise<{ status: number; body: unknown }>;
}

/** A refusal a route answers with: `{"error": {code, message}}` and this HTTP status. */
export class RouteError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 429 | 503,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
