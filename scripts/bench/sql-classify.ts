/**
 * Cost of classifying a statement, uncached (PostgreSQL parse + fingerprint + tree walk) and on a cache hit
 * (shape lexer + LRU lookup + offsets re-derived), for two statements:
 *   pgbench     pgbench's SELECT-only transaction, a new account id every time (as the real loop sends it)
 *   analytic    a 20-line reporting query: CTE, join, window functions, IN list, interval literal
 *
 *   *_parse_us   average µs per classify() with the cache disabled (every call parses)
 *   *_cached_us  average µs per classify() when the shape is cached (literal values still change each call)
 *
 * Usage: node bin/run-ts.mjs scripts/bench/sql-classify.ts [iterations]   (prints a line, then JSON as the last line)
 */
import { pathToFileURL } from 'node:url';
import { SqlClassifier } from '../../appliance/sql/index.ts';

export const PGBENCH = (aid: number): string => `SELECT abalance FROM pgbench_accounts WHERE aid = ${aid};`;

export const ANALYTIC = (days: number): string => `WITH monthly AS (
  SELECT date_trunc('month', o.created_at) AS month,
         c.region,
         sum(o.total) AS revenue,
         count(DISTINCT o.customer_id) AS customers
  FROM orders o
  JOIN customers c ON c.id = o.customer_id
  WHERE o.status IN ('shipped', 'delivered')
    AND o.created_at >= now() - interval '${days} days'
  GROUP BY 1, 2
)
SELECT month, region, revenue, customers,
       revenue / NULLIF(customers, 0) AS arpu,
       revenue - lag(revenue) OVER (PARTITION BY region ORDER BY month) AS delta,
       rank() OVER (PARTITION BY month ORDER BY revenue DESC) AS region_rank
FROM monthly
WHERE revenue > ${days * 10}
ORDER BY month DESC, region_rank
LIMIT 100;`;

export interface SqlClassifyBench {
  pgbench_parse_us: number;
  pgbench_cached_us: number;
  analytic_parse_us: number;
  analytic_cached_us: number;
  iterations: number;
}

function avgMicros(iterations: number, f: (i: number) => void): number {
  // Warm-up: V8 tiers wasm and JS up only after a few thousand calls; the cache gets filled.
  for (let i = 0; i < 5000; i++) f(i);
  let best = Infinity;
  for (let run = 0; run < 5; run++) {
    const t0 = performance.now();
    for (let i = 0; i < iterations; i++) f(i + 1);
    best = Math.min(best, performance.now() - t0);
  }
  return Math.round(((best * 1000) / iterations) * 100) / 100;
}

export async function benchSqlClassify(opts: { iterations?: number } = {}): Promise<SqlClassifyBench> {
  const iterations = opts.iterations ?? 20_000;
  const uncached = await SqlClassifier.create({ cacheSize: 0 });
  const cached = await SqlClassifier.create();
  const check = (c: SqlClassifier, sql: string, hit: boolean) => {
    const r = c.classify(sql);
    if (r.statements[0]?.class !== 'read' || r.cacheHit !== hit) throw new Error(`unexpected classification of ${sql}: ${JSON.stringify(r)}`);
  };
  check(cached, PGBENCH(1), false);
  check(cached, PGBENCH(2), true);
  check(cached, ANALYTIC(30), false);
  check(cached, ANALYTIC(31), true);
  check(uncached, PGBENCH(3), false);

  const slow = Math.max(1, Math.floor(iterations / 10));
  return {
    pgbench_parse_us: avgMicros(slow, (i) => uncached.classify(PGBENCH(100_000 + i))),
    pgbench_cached_us: avgMicros(iterations, (i) => cached.classify(PGBENCH(100_000 + i))),
    analytic_parse_us: avgMicros(Math.max(1, Math.floor(slow / 5)), (i) => uncached.classify(ANALYTIC(i))),
    analytic_cached_us: avgMicros(Math.max(1, Math.floor(iterations / 5)), (i) => cached.classify(ANALYTIC(i))),
    iterations,
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = await benchSqlClassify({ iterations: Number(process.argv[2] ?? 20_000) });
  console.log(
    `sql classify: pgbench ${r.pgbench_parse_us} µs uncached, ${r.pgbench_cached_us} µs cached; ` +
      `20-line analytic ${r.analytic_parse_us} µs uncached, ${r.analytic_cached_us} µs cached`,
  );
  console.log(JSON.stringify({ parse_us: r.pgbench_parse_us, cached_us: r.pgbench_cached_us, ...r }));
}
