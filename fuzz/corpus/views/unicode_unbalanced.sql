CREATE VIEW "été" AS SELECT kraj, count(*) FROM klienci WHERE kraj <> E'\u00e9' GROUP BY kraj; -- unterminated (
