-- bench/views_bench.sh's views (docs/BENCHMARKS.md, issue 16) over
--   big(id bigint primary key, grp int, val numeric(12,2), name text, ts timestamptz, flag boolean)
--   dim(id int primary key, region text)
-- The same text is a PostgreSQL materialized view's query and DuckDB's peer query.

-- count / sum / avg per group (1,000 groups).
CREATE VIEW grp_totals AS
  SELECT grp, count(*) AS n, sum(val) AS total, avg(val) AS average
  FROM big
  GROUP BY grp;

-- min / max per group (kept exactly under deletes: a value -> multiplicity map per group).
CREATE VIEW grp_extremes AS
  SELECT grp, min(val) AS lo, max(val) AS hi
  FROM big
  GROUP BY grp;

-- count(DISTINCT) per group of an expression (10 groups, up to 20,000 names each).
CREATE VIEW name_diversity AS
  SELECT grp % 10 AS bucket, count(DISTINCT name) AS names, count(name) AS named
  FROM big
  GROUP BY grp % 10;

-- A WHERE filter.
CREATE VIEW flagged_recent AS
  SELECT grp, count(*) AS n, sum(val) AS total
  FROM big
  WHERE flag AND ts >= '2026-07-01 00:00:00+00' AND val > 0
  GROUP BY grp;

-- One join, maintained from both sides.
CREATE VIEW region_totals AS
  SELECT d.region, count(*) AS n, sum(b.val) AS total, avg(b.val) AS average
  FROM big b JOIN dim d ON b.grp = d.id
  GROUP BY d.region;
