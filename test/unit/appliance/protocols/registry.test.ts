/**
 * The protocol registry and what is built from it: the listeners and targets of vigil.yaml (an unknown
 * protocol is an error naming the known ones), cross-section checks, and what `vigil init` writes.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseConfig } from '../../../../appliance/config/load-config.ts';
import { listenersSchema, targetSchema } from '../../../../appliance/config/protocol-schemas.ts';
import { initAppliance } from '../../../../appliance/init.ts';
import type { ProtocolAdapter } from '../../../../appliance/protocols/adapter.ts';
import { postgresAdapter } from '../../../../appliance/protocols/postgres/adapter.ts';
import { PROTOCOLS } from '../../../../appliance/protocols/registry.ts';
import { initCrypto } from '../../../../shared/crypto/backend.ts';
import { createAuditorKey } from '../../../../shared/evidence/auditor-key.ts';

const BASE = `version: 1
appliance:
  id: 3f1c0000-0000-4000-8000-000000000000
evidence:
  auditors: [keys/auditor.pub]
`;

const PG_TARGET = `  - name: payments
    protocol: postgres
    host: 10.0.0.5
    database: payments
    user: svc_reporting
`;

const parse = (yaml: string) => parseConfig(BASE + yaml, '/etc/vigil/vigil.yaml').config;
const failure = (yaml: string): string => {
  try {
    parse(yaml);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected the config to be refused');
};

const known = PROTOCOLS.map((a) => a.name).join(', ');

describe('the registry', () => {
  it('lists each protocol once, by a lower-case name its target schema requires as `protocol:`', () => {
    const names = PROTOCOLS.map((a) => a.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain('postgres');
    for (const a of PROTOCOLS) {
      expect(a.name).toMatch(/^[a-z][a-z0-9-]*$/);
      const wrong = a.targetSchema.safeParse({ protocol: `not-${a.name}` });
      expect(wrong.error?.issues.map((i) => i.path.join('.'))).toContain('protocol');
    }
  });
});

describe('vigil.yaml built from the registry', () => {
  it('reads an existing PostgreSQL listener and target as before, defaults included', () => {
    const c = parse(`listeners:\n  postgres:\n    address: 127.0.0.1:6432\ntargets:\n${PG_TARGET}`);
    expect(c.listeners.postgres).toMatchObject({ address: '127.0.0.1:6432', maxConnections: 2000, clientCertificates: false });
    expect(c.targets).toEqual([
      {
        name: 'payments',
        protocol: 'postgres',
        host: '10.0.0.5',
        port: 5432,
        database: 'payments',
        user: 'svc_reporting',
        tls: { mode: 'disable' },
        connectTimeoutMs: 5000,
        cardholderData: { pan: [], sad: [] },
        trustedFunctions: [],
        catalogTtlSeconds: 5,
      },
    ]);
  });

  it('refuses a target of a protocol no adapter speaks, naming the line and the protocols there are', () => {
    const msg = failure(`targets:\n${PG_TARGET}  - name: web-1\n    protocol: telnet\n    host: 10.0.0.7\n`);
    expect(msg).toBe(`/etc/vigil/vigil.yaml:13: targets.1.protocol: unknown protocol "telnet" (this appliance knows: ${known})`);
  });

  it('refuses a target without a protocol, saying which there are', () => {
    expect(failure('targets:\n  - name: payments\n    host: 10.0.0.5\n')).toBe(`/etc/vigil/vigil.yaml:7: targets.0.protocol: every target names its protocol (this appliance knows: ${known})`);
  });

  it('checks a target against its own protocol\'s schema', () => {
    expect(failure('targets:\n  - name: payments\n    protocol: postgres\n    host: 10.0.0.5\n')).toMatch(/targets\.0\.database: /);
  });

  it('refuses a listener block no adapter has, naming the listeners there are', () => {
    expect(failure('listeners:\n  telnet:\n    address: 127.0.0.1:2323\n')).toBe(`/etc/vigil/vigil.yaml:7: listeners: unknown listener "telnet" (this appliance knows: ${known}, admin)`);
  });

  it('runs each adapter\'s checks across sections (PostgreSQL client certificates need mtls:)', () => {
    expect(failure('listeners:\n  postgres:\n    clientCertificates: true\n')).toBe(
      '/etc/vigil/vigil.yaml:8: listeners.postgres.clientCertificates: client certificates need an mtls: section (which CA, how to read the identity)',
    );
  });
});

describe('assembly is per adapter, not per PostgreSQL', () => {
  // A second protocol, as a new adapter folder would declare it.
  const echoAdapter: ProtocolAdapter<'echo', z.ZodObject<{ address: z.ZodDefault<z.ZodString> }>, z.ZodObject<{ name: z.ZodString; protocol: z.ZodLiteral<'echo'>; port: z.ZodNumber }>> = {
    name: 'echo',
    title: 'Echo',
    listenerSchema: z.strictObject({ address: z.string().default('127.0.0.1:7') }),
    targetSchema: z.strictObject({ name: z.string(), protocol: z.literal('echo'), port: z.number() }),
    init: { listener: () => '', targetExample: '' },
    start: () => Promise.reject(new Error('not started in this test')),
  };
  const adapters = [postgresAdapter, echoAdapter] as const;

  it('gives every adapter its listener block', () => {
    const listeners = listenersSchema(adapters, {});
    expect(listeners.parse({ echo: {} })).toEqual({ echo: { address: '127.0.0.1:7' } });
    expect(listeners.parse({ postgres: {}, echo: {} }).postgres?.address).toBe('127.0.0.1:6432');
    expect(listeners.safeParse({ ssh: {} }).error?.issues[0]?.message).toBe('unknown listener "ssh" (this appliance knows: postgres, echo)');
    expect(() => listenersSchema([postgresAdapter, postgresAdapter], {})).toThrow(/two listeners are named postgres/);
    expect(() => listenersSchema([echoAdapter], { echo: z.string() })).toThrow(/two listeners are named echo/);
  });

  it('validates each target with the schema of the protocol it names', () => {
    const target = targetSchema(adapters);
    expect(target.parse({ name: 'e', protocol: 'echo', port: 7 })).toEqual({ name: 'e', protocol: 'echo', port: 7 });
    expect(target.safeParse({ name: 'e', protocol: 'echo' }).error?.issues.map((i) => i.path.join('.'))).toEqual(['port']);
    expect(target.safeParse({ name: 'e', protocol: 'echo', port: 7, database: 'x' }).error?.issues[0]?.code).toBe('unrecognized_keys');
    expect(target.safeParse({ name: 'p', protocol: 'ssh' }).error?.issues[0]?.message).toBe('unknown protocol "ssh" (this appliance knows: postgres, echo)');
  });
});

describe('vigil init built from the registry', () => {
  beforeAll(async () => {
    await initCrypto();
  });

  it('writes every adapter\'s listener block and target example, and the result loads', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-registry-'));
    const key = createAuditorKey({ label: 'test auditor' });
    writeFileSync(join(dir, 'auditor.pub'), key.publicFile);
    for (const tls of [true, false]) {
      const r = initAppliance({ dir: join(dir, `app-${tls}`), auditors: [join(dir, 'auditor.pub')], tls });
      const text = readFileSync(r.configPath, 'utf8');
      for (const a of PROTOCOLS) {
        expect(text).toContain(a.init.listener({ tls }));
        expect(text).toContain(a.init.targetExample);
      }
      const c = parseConfig(text, r.configPath).config;
      expect(Object.keys(c.listeners).sort()).toEqual(tls ? ['admin', 'postgres', 'ssh'] : ['postgres', 'ssh']);
    }
  });
});
