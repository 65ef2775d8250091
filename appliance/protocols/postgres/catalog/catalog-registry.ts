/** One catalog per target, opened on first use and shared by that target's sessions. */
import type { PostgresTarget } from '../config.ts';
import { CatalogConnection } from './catalog-connection.ts';
import { TargetCatalog } from './target-catalog.ts';

export class CatalogRegistry {
  private readonly catalogs = new Map<string, TargetCatalog>();

  constructor(private readonly resolvePath: (p: string) => string) {}

  for(target: PostgresTarget): TargetCatalog {
    let c = this.catalogs.get(target.name);
    if (!c) {
      c = new TargetCatalog(new CatalogConnection(target, this.resolvePath), { ttlMs: target.catalogTtlSeconds * 1000 });
      this.catalogs.set(target.name, c);
    }
    return c;
  }

  close(): void {
    for (const c of this.catalogs.values()) c.close();
    this.catalogs.clear();
  }
}
