-- bench/run_bench.sh's 10-view file (docs/BENCHMARKS.md, issue 16): `cdcpipe run` throughput with
-- these views maintained live vs with no views, on the klienci insert backlog. Reads klienci and
-- pracownicy (the join), so the runs capture both tables.

-- The two seed views (views/seed.sql).
CREATE VIEW "klienci-by-country" AS
  SELECT kraj, count(*) AS count
  FROM klienci
  GROUP BY kraj;

CREATE VIEW "avg-age-by-position" AS
  SELECT stanowisko, avg(wiek)::double precision AS avg_age, count(*) AS count
  FROM pracownicy
  GROUP BY stanowisko;

-- Totals without GROUP BY (one group).
CREATE VIEW klienci_totals AS
  SELECT count(*) AS klienci, count(email) AS with_email, count(telefon) AS with_phone
  FROM klienci;

-- min/max per country (a value -> multiplicity map per group: one entry per distinct id).
CREATE VIEW id_range_by_country AS
  SELECT kraj, min(id) AS first_id, max(id) AS last_id
  FROM klienci
  GROUP BY kraj;

-- count(DISTINCT).
CREATE VIEW countries AS
  SELECT count(DISTINCT kraj) AS countries
  FROM klienci;

-- A WHERE filter with LIKE.
CREATE VIEW example_domain AS
  SELECT kraj, count(*) AS n
  FROM klienci
  WHERE email LIKE '%@example.com'
  GROUP BY kraj;

-- An expression as the group key (100 groups) and a sum.
CREATE VIEW id_buckets AS
  SELECT id % 100 AS bucket, count(*) AS n, sum(id) AS id_sum
  FROM klienci
  GROUP BY id % 100;

-- Functions in the key and the filter.
CREATE VIEW phone_prefixes AS
  SELECT substr(telefon, 1, 7) AS prefix, upper(kraj) AS country, count(*) AS n
  FROM klienci
  WHERE telefon IS NOT NULL
  GROUP BY substr(telefon, 1, 7), upper(kraj);

-- Name lengths.
CREATE VIEW name_lengths AS
  SELECT length(nazwa) AS len, count(*) AS n
  FROM klienci
  GROUP BY length(nazwa);

-- The join (maintained from both sides).
CREATE VIEW klienci_pracownicy AS
  SELECT k.kraj, count(*) AS klienci, count(p.id) AS also_employees
  FROM klienci k LEFT JOIN pracownicy p ON k.id = p.id
  GROUP BY k.kraj;
