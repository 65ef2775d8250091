/**
 * The PostgreSQL adapter (registry.ts lists it): its listener and target schemas, what `vigil init`
 * writes for it, and start(), which owns the services only PostgreSQL sessions use — the SQL classifier,
 * the cancel-key registry and the per-target catalog cache — and releases them on close.
 */
import type { ProtocolAdapter } from '../adapter.ts';
import { SqlClassifier } from '../../sql/index.ts';
import { CancelRegistry } from './cancel-registry.ts';
import { CatalogRegistry } from './catalog/catalog-registry.ts';
import { postgresListenerSchema, postgresTargetSchema } from './config.ts';
import { PostgresListener } from './listener.ts';
import { legacyPostgresEvidence, legacyPostgresPolicy, postgresEvidenceOf, postgresEvidenceSchema, postgresPolicySchema } from './policy-config.ts';

export const postgresAdapter: ProtocolAdapter<'postgres', typeof postgresListenerSchema, typeof postgresTargetSchema> = {
  name: 'postgres',
  title: 'PostgreSQL',
  listenerSchema: postgresListenerSchema,
  targetSchema: postgresTargetSchema,
  policy: { schema: postgresPolicySchema, legacy: legacyPostgresPolicy },
  evidence: { schema: postgresEvidenceSchema, legacy: legacyPostgresEvidence },
  init: {
    listener: ({ tls }) => `  postgres:\n    address: 127.0.0.1:6432\n${tls ? "    tls: { cert: tls/server.crt, key: tls/server.key }   # self-signed by vigil init; replace with your CA's\n" : ''}`,
    targetExample: `#  - name: payments-db
#    protocol: postgres
#    host: 10.0.0.5
#    port: 5432
#    database: payments
#    user: svc_reporting
#    credential: { file: secrets/payments-db.password }
#    tls: { mode: verify-full, ca: tls/payments-db-ca.crt }
`,
  },

  check(listener, shared, issue) {
    if (listener?.clientCertificates && !shared.mtls) {
      issue(['listeners', 'postgres', 'clientCertificates'], 'client certificates need an mtls: section (which CA, how to read the identity)');
    }
  },

  async start(ctx) {
    const catalogs = new CatalogRegistry(ctx.resolvePath);
    const listener = new PostgresListener({
      listener: ctx.listener,
      targets: ctx.targets,
      pipeline: ctx.pipeline,
      identity: ctx.identity,
      mtls: ctx.shared.mtls,
      fingerprintKey: ctx.fingerprintKey,
      classifier: await SqlClassifier.create(),
      resultRows: postgresEvidenceOf(ctx.shared.evidence).resultRows,
      cancels: new CancelRegistry(),
      catalogs,
      resolvePath: ctx.resolvePath,
      logger: ctx.logger,
    });
    const address = await listener.listen().catch(async (e: unknown) => {
      await listener.close();
      catalogs.close();
      throw e;
    });
    return {
      address,
      get connections() {
        return listener.connections;
      },
      get admitted() {
        return listener.admitted;
      },
      stopAccepting: () => listener.stopAccepting(),
      async close() {
        await listener.close();
        catalogs.close();
      },
    };
  },
};
