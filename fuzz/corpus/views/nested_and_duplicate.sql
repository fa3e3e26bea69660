CREATE VIEW v AS SELECT (((((((((((((((((((((((((((((id))))))))))))))))))))))))))))) FROM orders;
CREATE VIEW v AS SELECT 1;
