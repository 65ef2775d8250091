/** `shipping:` in vigil.yaml: where sealed archives and checkpoints go (an S3 bucket with Object Lock). */
import { z } from 'zod';

export const shippingSchema = z.strictObject({
  /** e.g. https://s3.eu-central-1.amazonaws.com or http://127.0.0.1:7070; the SDK's default when omitted. */
  endpoint: z.url().optional(),
  region: z.string().min(1).default('us-east-1'),
  /** Must have been created with Object Lock enabled (it cannot be turned on later). */
  bucket: z.string().min(3).max(63),
  /** Key prefix inside the bucket, e.g. `vigil/<appliance id>/`. */
  prefix: z.string().max(512).default(''),
  /** Path-style URLs (most S3-compatible servers need them). */
  forcePathStyle: z.boolean().default(true),
  /** JSON file `{"accessKeyId": …, "secretAccessKey": …}` readable only by the appliance; else the SDK's default chain (AWS_ACCESS_KEY_ID…). */
  credentialsFile: z.string().min(1).optional(),
  /** How often the shipper looks for sealed archives and a newer checkpoint. */
  intervalSeconds: z.number().int().min(1).max(86_400).default(60),
  /** Delete the local copy of an archive once its upload is verified and it is older than keepLocalDays. */
  pruneLocal: z.boolean().default(false),
  /** PCI DSS 10.5.1 asks three months immediately available: the default keeps them on local disk too. */
  keepLocalDays: z.number().int().min(0).default(92),
  /** A failed upload is retried after 2^attempts seconds, at most this long. */
  maxBackoffSeconds: z.number().int().min(1).max(86_400).default(3600),
});
export type ShippingConfig = z.infer<typeof shippingSchema>;
