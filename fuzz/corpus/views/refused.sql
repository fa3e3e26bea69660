CREATE VIEW w AS SELECT id, rank() OVER (ORDER BY amount) FROM orders;
CREATE VIEW s AS SELECT * FROM orders WHERE id IN (SELECT customer_id FROM orders);
CREATE VIEW l AS SELECT id FROM orders ORDER BY id LIMIT 10;
CREATE VIEW t AS SELECT o.id FROM orders o JOIN customers c ON o.customer_id = c.id JOIN klienci k ON k.id = c.id;
CREATE VIEW u AS SELECT nope FROM orders;
CREATE VIEW e AS SELECT amount + 'x' FROM orders;
CREATE VIEW n AS SELECT id FROM not_captured;
CREATE VIEW x AS SELEC id FROM orders;
