CREATE VIEW revenue_by_country (country, orders, revenue, biggest, first_order) AS
  SELECT c.country, count(*), sum(o.amount), max(o.amount), min(o.created_at)
  FROM orders o LEFT JOIN customers c ON o.customer_id = c.id
  WHERE o.status IN ('paid', 'shipped') AND o.qty BETWEEN 1 AND 100
  GROUP BY c.country
  HAVING count(DISTINCT o.customer_id) > 1;

CREATE VIEW "weird ""name""" AS
  SELECT date_trunc('month', created_at) AS m, extract(dow FROM shipped) AS dow,
         CASE WHEN price > 10 THEN 'high' WHEN price IS NULL THEN NULL ELSE 'low' END AS band,
         coalesce(nullif(lower(status), ''), 'none') AS st, bool_and(qty > 0), avg(discount)::numeric(8,3)
  FROM orders
  WHERE status ILIKE 'p%' OR NOT (substr(status, 1, 2) LIKE 'x_')
  GROUP BY 1, 2, 3, 4;
