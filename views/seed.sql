-- The seed pipeline's analytics, as views (docs/VIEWS.md). `cdcpipe run` keeps them up to date and
-- `cdcpipe batch` recomputes them from raw-kafka-data; each is written to the folder of its name
-- under the output root, as the Spark batch job wrote them.

-- Clients per country.
CREATE VIEW "klienci-by-country" AS
  SELECT kraj, count(*) AS count
  FROM klienci
  GROUP BY kraj;

-- Employees per position and their average age (over the employees whose age is known).
CREATE VIEW "avg-age-by-position" AS
  SELECT stanowisko, avg(wiek)::double precision AS avg_age, count(*) AS count
  FROM pracownicy
  GROUP BY stanowisko;
