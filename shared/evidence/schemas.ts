/** Field formats shared by every evidence schema. */
import { z } from 'zod';

export const isoTimeSchema = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/, 'expected an ISO-8601 UTC time');
export const hex32Schema = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 hex digits');
export const keyIdSchema = z.string().regex(/^[0-9a-f]{16}$/, 'expected a 16-hex-digit key id');
export const base64Schema = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'expected base64');
export const publicKeySchema = z.string().regex(/^[A-Za-z0-9+/]{43}=$/, 'expected a base64 32-byte public key');
