-- The oracle corpus of tests/views_oracle_test.cc (issue 16, "How it must be shown"): every construct
-- of the supported view subset (docs/VIEWS.md), over
--   customers(id serial primary key, name text, country text, vip boolean, signup date,
--             credit numeric(12,2))                                   REPLICA IDENTITY FULL
--   orders(id bigint primary key, customer_id int, amount numeric(10,2), qty int,
--          price double precision, discount real, priority smallint, status text,
--          created_at timestamptz, shipped timestamp)                 REPLICA IDENTITY DEFAULT
-- The file is valid PostgreSQL: the test creates the same views in PostgreSQL (psql -f, in a schema
-- of their own) and compares `SELECT * FROM view` with what cdcpipe wrote, with types.
-- Output columns are named explicitly where PostgreSQL's default name would be "?column?".

-- count(*), count(x), sum(int) -> bigint, sum/avg(numeric), avg(int), min/max(numeric) -> numeric
CREATE VIEW orders_by_status AS
  SELECT status, count(*) AS n, count(price) AS n_priced, sum(qty) AS qty, sum(amount) AS amount,
         avg(qty) AS avg_qty, avg(amount) AS avg_amount, min(amount) AS min_amount,
         max(amount) AS max_amount
  FROM orders
  GROUP BY status;

-- count(DISTINCT x) over text, double and a join key; NULL group key
CREATE VIEW "orders-distinct-by-customer" AS
  SELECT customer_id, count(DISTINCT status) AS statuses, count(DISTINCT price) AS prices,
         count(DISTINCT qty) AS qtys, count(*)
  FROM orders
  GROUP BY customer_id;

-- double precision and real aggregates: sum(real) is real, avg(real) double precision
CREATE VIEW orders_float_by_status AS
  SELECT status, sum(price) AS sum_price, avg(price) AS avg_price, min(price) AS min_price,
         max(price) AS max_price, sum(discount) AS sum_discount, avg(discount) AS avg_discount
  FROM orders
  GROUP BY status;

-- min/max of timestamptz, timestamp and text (retraction of the current minimum/maximum)
CREATE VIEW orders_span_by_customer AS
  SELECT customer_id, min(created_at) AS first_at, max(created_at) AS last_at,
         min(shipped) AS first_shipped, max(shipped) AS last_shipped, min(status) AS min_status,
         max(status) AS max_status
  FROM orders
  GROUP BY customer_id;

-- bool_and/bool_or, min/max of date, count(x) of a boolean
CREATE VIEW customers_by_country AS
  SELECT country, count(*) AS n, bool_and(vip) AS all_vip, bool_or(vip) AS any_vip,
         count(vip) AS vip_known, min(signup) AS first_signup, max(signup) AS last_signup
  FROM customers
  GROUP BY country;

-- aggregates without GROUP BY: one row, also over an empty (truncated) table
CREATE VIEW orders_totals AS
  SELECT count(*) AS n, sum(amount) AS total, avg(price) AS avg_price, min(created_at) AS first_at,
         max(qty) AS max_qty, bool_or(price > 100) AS any_expensive, sum(priority) AS priorities
  FROM orders;

CREATE VIEW customers_totals AS
  SELECT count(*) AS n, count(DISTINCT country) AS countries, sum(credit) AS credit,
         avg(credit) AS avg_credit, bool_and(vip) AS all_vip, min(credit) AS min_credit
  FROM customers;

-- a WHERE that is false for every row: the one row of an empty input
CREATE VIEW orders_never AS
  SELECT count(*) AS n, sum(qty) AS qty, max(price) AS max_price, bool_and(qty > 0) AS all_positive,
         avg(amount) AS avg_amount
  FROM orders
  WHERE status = 'never';

-- WHERE with AND / OR / NOT
CREATE VIEW orders_and_or_not AS
  SELECT status, count(*) AS n, sum(amount) AS amount
  FROM orders
  WHERE (qty > 2 AND price < 500) OR NOT (status = 'new') AND customer_id <> 3
  GROUP BY status;

-- IN, NOT IN (a NULL customer_id is neither in nor not in the list)
CREATE VIEW orders_in_lists AS
  SELECT customer_id, sum(qty) AS qty, count(*) AS n
  FROM orders
  WHERE status IN ('paid', 'shipped', 'Ελλάδα') AND customer_id NOT IN (1, 2, 3)
  GROUP BY customer_id;

-- BETWEEN (numeric and timestamptz), date_trunc('day', timestamptz) in UTC
CREATE VIEW orders_between_by_day AS
  SELECT date_trunc('day', created_at) AS day, count(*) AS n, sum(amount) AS amount
  FROM orders
  WHERE amount BETWEEN 10 AND 1000
    AND created_at BETWEEN '2023-12-31 00:00:00+00' AND '2025-01-01 00:00:00+00'
  GROUP BY date_trunc('day', created_at);

-- a filtered projection (no aggregates: a bag of rows) with LIKE and ILIKE
CREATE VIEW customers_like AS
  SELECT id, name, country
  FROM customers
  WHERE name LIKE 'A%' OR name LIKE '%''%' OR country ILIKE '%land%' OR country ILIKE 'ελλ%'
     OR name NOT LIKE '%a%';

-- IS NULL / IS NOT NULL
CREATE VIEW orders_null_checks AS
  SELECT status IS NULL AS no_status, count(*) AS n, count(shipped) AS shipped
  FROM orders
  WHERE shipped IS NULL OR customer_id IS NOT NULL
  GROUP BY status IS NULL;

-- GROUP BY date_trunc of timestamptz and of timestamp
CREATE VIEW orders_by_month AS
  SELECT date_trunc('month', created_at) AS month, count(*) AS n, sum(amount) AS amount,
         max(price) AS max_price
  FROM orders
  GROUP BY date_trunc('month', created_at);

CREATE VIEW orders_by_shipped_hour AS
  SELECT date_trunc('hour', shipped) AS hour, count(*) AS n, min(id) AS min_id
  FROM orders
  GROUP BY date_trunc('hour', shipped);

-- GROUP BY extract(...): numeric results
CREATE VIEW orders_by_year_dow AS
  SELECT extract(year FROM created_at) AS y, extract(dow FROM shipped) AS dow, count(*) AS n
  FROM orders
  GROUP BY extract(year FROM created_at), extract(dow FROM shipped);

-- date_trunc of a date is a timestamptz (midnight UTC); extract(month) of a date
CREATE VIEW customers_by_signup_year AS
  SELECT date_trunc('year', signup) AS year, extract(month FROM signup) AS month, count(*) AS n,
         sum(credit) AS credit, min(credit) AS min_credit, max(credit) AS max_credit
  FROM customers
  GROUP BY date_trunc('year', signup), extract(month FROM signup);

-- lower/upper/substr/length over Unicode text
CREATE VIEW customers_by_text_functions AS
  SELECT lower(country) AS country_lower, upper(substr(name, 1, 2)) AS initials,
         length(name) AS name_length, count(*) AS n
  FROM customers
  GROUP BY lower(country), upper(substr(name, 1, 2)), length(name);

CREATE VIEW customers_country_length AS
  SELECT country, length(country) AS len, substr(country, 2) AS tail, count(*) AS n
  FROM customers
  GROUP BY country, length(country), substr(country, 2);

-- CASE in GROUP BY
CREATE VIEW orders_by_size AS
  SELECT CASE WHEN amount IS NULL THEN 'unknown'
              WHEN amount < 0 THEN 'refund'
              WHEN amount < 100 THEN 'small'
              ELSE 'large' END AS size,
         count(*) AS n, sum(amount) AS amount, avg(qty) AS avg_qty
  FROM orders
  GROUP BY CASE WHEN amount IS NULL THEN 'unknown'
                WHEN amount < 0 THEN 'refund'
                WHEN amount < 100 THEN 'small'
                ELSE 'large' END;

CREATE VIEW customers_by_credit_class AS
  SELECT CASE WHEN credit IS NULL THEN 'none' WHEN credit < 0 THEN 'debt' ELSE 'ok' END AS class,
         vip, count(*) AS n, avg(credit) AS avg_credit, sum(credit) AS credit
  FROM customers
  GROUP BY CASE WHEN credit IS NULL THEN 'none' WHEN credit < 0 THEN 'debt' ELSE 'ok' END, vip;

-- COALESCE and NULLIF
CREATE VIEW orders_by_coalesce AS
  SELECT coalesce(status, 'none') AS status, nullif(qty, 0) AS qty, count(*) AS n,
         sum(coalesce(amount, 0)) AS amount
  FROM orders
  GROUP BY coalesce(status, 'none'), nullif(qty, 0);

-- casts: timestamp -> date, numeric -> integer (half away from zero), integer -> text,
-- numeric -> numeric(p,s), double -> integer (half to even), smallint -> bigint
CREATE VIEW orders_by_casts AS
  SELECT shipped::date AS day, amount::integer AS amount_int, qty::text AS qty_text, count(*) AS n
  FROM orders
  GROUP BY shipped::date, amount::integer, qty::text;

CREATE VIEW orders_by_rounded_price AS
  SELECT price::integer AS rounded_price, count(*) AS n, sum(amount::numeric(12,1)) AS amount_1,
         max(amount::numeric(12,1)) AS max_amount_1, sum(priority::bigint) AS priorities
  FROM orders
  WHERE price BETWEEN -1000 AND 1000
  GROUP BY price::integer;

CREATE VIEW orders_by_created_date AS
  SELECT created_at::date AS day, cast(created_at AS timestamp) AS at_utc, count(*) AS n
  FROM orders
  GROUP BY created_at::date, cast(created_at AS timestamp);

-- arithmetic: numeric * int, numeric / int (PostgreSQL's division scale), int / int, double * int,
-- unary minus
CREATE VIEW orders_arithmetic_by_customer AS
  SELECT customer_id, sum(qty * price) AS gross_f, sum(amount * qty) AS gross,
         sum(amount / 3) AS thirds, sum(qty / 2) AS halves, max(-amount) AS neg_min,
         sum(qty - 1) AS qty_minus_one, avg(amount + 1) AS avg_plus_one
  FROM orders
  GROUP BY customer_id;

-- HAVING over aggregates in and not in the SELECT list
CREATE VIEW customers_having AS
  SELECT customer_id, count(*) AS n, sum(amount) AS amount
  FROM orders
  GROUP BY customer_id
  HAVING count(*) > 2 AND sum(amount) > 0;

CREATE VIEW statuses_having AS
  SELECT status
  FROM orders
  GROUP BY status
  HAVING max(price) > 100 OR min(qty) IS NULL;

-- DISTINCT
CREATE VIEW customer_countries_distinct AS
  SELECT DISTINCT country, vip
  FROM customers;

CREATE VIEW order_status_years_distinct AS
  SELECT DISTINCT status, extract(year FROM created_at) AS y
  FROM orders
  WHERE status IS NOT NULL;

-- filtered projections with expressions and repeated rows
CREATE VIEW orders_projection AS
  SELECT id, amount * 2 AS double_amount, amount::numeric(12,1) AS amount_tenths,
         upper(status) AS status, created_at, shipped, discount, priority
  FROM orders
  WHERE qty >= 5 OR price IS NULL;

CREATE VIEW orders_status_qty_bag AS
  SELECT status, qty
  FROM orders
  WHERE amount > 0;

-- smallint and integer group keys
CREATE VIEW orders_by_priority AS
  SELECT priority, count(*) AS n, sum(discount) AS sum_discount, min(discount) AS min_discount,
         max(discount) AS max_discount, avg(discount) AS avg_discount, sum(priority) AS priorities
  FROM orders
  GROUP BY priority;

-- count(x) and count(DISTINCT expression) without GROUP BY
CREATE VIEW orders_shipping_counts AS
  SELECT count(shipped) AS shipped, count(DISTINCT shipped::date) AS shipping_days,
         count(DISTINCT customer_id) AS customers
  FROM orders;

-- INNER JOIN, as the issue writes it
CREATE VIEW revenue_by_country AS
  SELECT c.country, count(*) AS orders, sum(o.amount) AS amount,
         count(DISTINCT o.customer_id) AS buyers, bool_or(c.vip) AS any_vip
  FROM orders o JOIN customers c ON o.customer_id = c.id
  GROUP BY c.country;

-- LEFT JOIN: orders without a (matching) customer get NULL customer columns
CREATE VIEW orders_by_customer_country AS
  SELECT c.country, o.status, count(*) AS n, count(c.id) AS matched, sum(o.qty) AS qty
  FROM orders o LEFT JOIN customers c ON o.customer_id = c.id
  WHERE o.qty > 0 OR o.qty IS NULL
  GROUP BY c.country, o.status;

-- LEFT JOIN from the customers' side: customers without orders count 0
CREATE VIEW orders_per_customer AS
  SELECT c.id, c.name, count(o.id) AS orders, sum(o.amount) AS amount, max(o.created_at) AS last_order
  FROM customers c LEFT JOIN orders o ON o.customer_id = c.id
  GROUP BY c.id, c.name;

-- INNER JOIN projection with a WHERE over both sides
CREATE VIEW vip_big_orders AS
  SELECT o.id, o.amount, c.name, c.vip, c.credit
  FROM orders o INNER JOIN customers c ON o.customer_id = c.id
  WHERE c.vip AND o.amount > 100;

-- a join without GROUP BY but with aggregates
CREATE VIEW join_totals AS
  SELECT count(*) AS n, sum(o.amount * c.credit) AS weighted, min(c.signup) AS first_signup
  FROM orders o JOIN customers c ON o.customer_id = c.id;

-- substr with a start before the string and a negative start; length of a COALESCE
CREATE VIEW customers_substr_edges AS
  SELECT substr(name, 0, 3) AS s0, substr(name, -1, 3) AS s_neg, length(coalesce(name, '')) AS len,
         count(*) AS n
  FROM customers
  GROUP BY substr(name, 0, 3), substr(name, -1, 3), length(coalesce(name, ''));

-- more extract fields and date_trunc units, around year ends (ISO weeks, quarters, epoch)
CREATE VIEW orders_time_fields AS
  SELECT extract(epoch FROM created_at) AS epoch, extract(week FROM created_at) AS week,
         extract(isoyear FROM created_at) AS isoyear, extract(doy FROM shipped) AS doy,
         extract(quarter FROM shipped) AS quarter, extract(microseconds FROM shipped) AS us,
         extract(hour FROM created_at) AS hour, date_trunc('week', created_at) AS week_start,
         date_trunc('quarter', shipped) AS quarter_start, date_trunc('minute', created_at) AS minute,
         count(*) AS n
  FROM orders
  GROUP BY extract(epoch FROM created_at), extract(week FROM created_at),
           extract(isoyear FROM created_at), extract(doy FROM shipped), extract(quarter FROM shipped),
           extract(microseconds FROM shipped), extract(hour FROM created_at),
           date_trunc('week', created_at), date_trunc('quarter', shipped),
           date_trunc('minute', created_at);

-- casts to text: PostgreSQL's output of double, real, numeric, timestamp, timestamptz, date, boolean
CREATE VIEW orders_text_casts AS
  SELECT price::text AS price_text, discount::text AS discount_text, amount::text AS amount_text,
         created_at::text AS created_text, shipped::text AS shipped_text, count(*) AS n
  FROM orders
  GROUP BY price::text, discount::text, amount::text, created_at::text, shipped::text;

CREATE VIEW customers_text_casts AS
  SELECT id, signup::text AS signup_text, vip::text AS vip_text, credit::text AS credit_text,
         (credit::text)::numeric(14,3) AS credit_back
  FROM customers
  WHERE vip OR credit < 0;

-- three-valued logic: NOT IN with a NULL in the list is never true, NOT of NULL is NULL (the row is
-- filtered out), comparisons across integer, numeric and double, LIKE with an escaped wildcard
CREATE VIEW orders_three_valued AS
  SELECT status, count(*) AS n, sum(qty) AS qty
  FROM orders
  WHERE (status NOT IN ('new', NULL) OR NOT (qty > 2) OR qty > 2.5 OR price = 2.5 OR amount < 10.5)
    AND (status IS NULL OR status NOT LIKE 'P\_%')
  GROUP BY status;

CREATE VIEW customers_escaped_like AS
  SELECT name, count(*) AS n
  FROM customers
  WHERE name LIKE 'A\%%' OR name LIKE '%\_%' OR name ILIKE 'o''b%'
  GROUP BY name;

-- COALESCE across integer and double, NULLIF of text, HAVING on a group key
CREATE VIEW orders_mixed_coalesce AS
  SELECT nullif(status, '') AS status, coalesce(price, qty) AS price_or_qty, count(*) AS n
  FROM orders
  GROUP BY nullif(status, ''), coalesce(price, qty)
  HAVING nullif(status, '') <> 'new' OR count(*) > 1;

-- a LEFT JOIN projection: unmatched orders keep NULL customer columns, and change when a customer
-- with their key appears, changes key or goes away
CREATE VIEW orders_with_customer AS
  SELECT o.id, o.status, c.name, c.country, c.signup
  FROM orders o LEFT JOIN customers c ON o.customer_id = c.id
  WHERE o.amount >= 0 OR o.amount IS NULL;

-- max of a cast, min of a CASE, count(DISTINCT) of an expression, per customer country (join)
CREATE VIEW join_expressions AS
  SELECT upper(c.country) AS country, max(o.created_at::date) AS last_day,
         min(CASE WHEN o.qty > 5 THEN 'bulk' ELSE 'single' END) AS kind,
         count(DISTINCT lower(o.status)) AS statuses, avg(o.price) AS avg_price
  FROM orders o JOIN customers c ON o.customer_id = c.id
  GROUP BY upper(c.country);

-- names: a quoted Unicode view name (its folder), quoted column names with spaces and Unicode, and an
-- unquoted mixed-case name, which PostgreSQL folds to lower case (folder "customersbyvip")
CREATE VIEW "ventes-été" AS
  SELECT country AS "Pays ✓", count(*) AS "Nombre de clients", sum(credit) AS "Crédit total"
  FROM customers
  GROUP BY country;

CREATE VIEW CustomersByVip AS
  SELECT vip AS "VIP", count(*) AS Total
  FROM customers
  GROUP BY vip;
