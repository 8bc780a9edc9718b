-- The daily early-warning scan as one DuckDB query over the same Parquet files: the anchor
-- that benchmarks/early_warning_bench.py times against the production engine (polars,
-- offboarding/early_warning/selection.py + queue.py). Every finding with its evidence text and
-- priority, most pressing first; the benchmark fails unless both engines return the same.
-- Placeholders are filled by the benchmark from the policy (see `duckdb_sql`).
WITH
pop AS (SELECT DISTINCT account_id FROM read_parquet('{accounts}')),
u AS (
    SELECT account_id, feature, ts, epoch_us(TIMESTAMPTZ '{end}') - epoch_us(ts) AS age
    FROM read_parquet('{usage}')
    WHERE ts < TIMESTAMPTZ '{end}' AND ts >= TIMESTAMPTZ '{usage_since}'
),
per_feature AS (
    SELECT account_id, feature, {week_counts},
           count(*) FILTER (WHERE age > {abandon_us} AND age <= {abandon_end_us}) AS before_n,
           count(*) FILTER (WHERE age > 0 AND age <= {abandon_us}) AS recent,
           max(ts) AS last_ts
    FROM u GROUP BY account_id, feature
),
acct AS (
    SELECT account_id, {week_sums}, list_aggregate([{baseline}]::DOUBLE[], 'median') AS med
    FROM per_feature GROUP BY account_id
),
usage_drop AS (
    SELECT account_id, 'usage_drop' AS cause,
           w0 || ' events last week, ' || CAST(floor(100 * (1 - w0 / med)) AS BIGINT)
              || '% below the median of ' || {med_text} || ' a week over the {weeks} weeks before'
              AS evidence,
           '{drop_impact}' AS impact, '{drop_urgency}' AS urgency
    FROM acct
    WHERE med >= {min_baseline} AND w0 <= med * {keep}
),
l AS (
    SELECT account_id, user_id, ts, success
    FROM read_parquet('{logins}')
    WHERE ts < TIMESTAMPTZ '{end}' AND ts >= TIMESTAMPTZ '{login_since}'
),
failed_burst AS (
    SELECT account_id, 'failed_login_burst' AS cause,
           count(*) || ' failed logins in the last {burst_hours} h, by ' || count(DISTINCT user_id)
              || CASE WHEN count(DISTINCT user_id) = 1 THEN ' user' ELSE ' users' END
              AS evidence,
           '{login_impact}' AS impact, '{login_urgency}' AS urgency
    FROM l WHERE NOT success AND ts >= TIMESTAMPTZ '{burst_since}'
    GROUP BY account_id HAVING count(*) >= {burst}
),
champion_logins AS (
    SELECT l.account_id, l.user_id, max(l.ts) AS last_ok
    FROM l SEMI JOIN (SELECT DISTINCT account_id, user_id FROM read_parquet('{champions}')) c
         ON l.account_id = c.account_id AND l.user_id = c.user_id
    WHERE l.success
    GROUP BY l.account_id, l.user_id
),
quiet_champions AS (
    SELECT c.account_id, c.user_id, c.email,
           'champion ' || c.name || ' (' || c.email || '): ' || CASE
               WHEN p.last_ok IS NULL THEN 'no login in the last {history_days} days'
               ELSE 'last login ' || strftime(CAST(p.last_ok AS DATE), '%Y-%m-%d') || ', '
                    || (DATE '{day}' - CAST(p.last_ok AS DATE)) || ' days ago' END AS line
    FROM read_parquet('{champions}') c
    LEFT JOIN champion_logins p ON p.account_id = c.account_id AND p.user_id = c.user_id
    WHERE p.last_ok IS NULL OR DATE '{day}' - CAST(p.last_ok AS DATE) > {champion_days}
),
champion_inactive AS (
    SELECT account_id, 'champion_inactive' AS cause,
           string_agg(line, '; ' ORDER BY email, user_id) AS evidence,
           '{champion_impact}' AS impact, '{champion_urgency}' AS urgency
    FROM quiet_champions GROUP BY account_id
),
hot_features AS (
    SELECT account_id, feature, count(*) AS n,
           count(*) FILTER (WHERE closed_at IS NULL OR closed_at >= TIMESTAMPTZ '{end}') AS open,
           max(CASE lower(coalesce(severity, 'medium')) WHEN 'low' THEN 1 WHEN 'high' THEN 3
               WHEN 'critical' THEN 4 ELSE 2 END) AS sev
    FROM read_parquet('{tickets}')
    WHERE opened_at < TIMESTAMPTZ '{end}' AND opened_at >= TIMESTAMPTZ '{ticket_since}'
    GROUP BY account_id, feature HAVING count(*) >= {tickets_per_feature}
),
ticket_cluster AS (
    SELECT account_id, 'ticket_cluster' AS cause,
           string_agg(n || ' tickets on ' || feature || ' in {ticket_days} days (' || open
                      || ' still open, highest severity ' || {sev_name} || ')', '; '
                      ORDER BY n DESC, feature) AS evidence,
           {max_sev_name} AS impact, '{ticket_urgency}' AS urgency
    FROM hot_features GROUP BY account_id
),
h AS (SELECT account_id, "on", score FROM read_parquet('{health}') WHERE score IS NOT NULL),
h_now AS (
    SELECT account_id, "on", score FROM h WHERE "on" < DATE '{day}'
    QUALIFY row_number() OVER (PARTITION BY account_id ORDER BY "on" DESC, score ASC) = 1
),
h_then AS (
    SELECT account_id, "on", score FROM h WHERE "on" < DATE '{then_before}'
    QUALIFY row_number() OVER (PARTITION BY account_id ORDER BY "on" DESC, score ASC) = 1
),
bands AS (
    SELECT n.account_id, n."on", n.score, t."on" AS on_then, t.score AS score_then,
           CASE WHEN n.score < {red} THEN 'red' WHEN n.score < {yellow} THEN 'yellow'
                ELSE 'green' END AS band,
           CASE WHEN t.score < {red} THEN 'red' WHEN t.score < {yellow} THEN 'yellow'
                ELSE 'green' END AS band_then
    FROM h_now n JOIN h_then t USING (account_id)
),
health_decline AS (
    SELECT account_id, 'health_decline' AS cause,
           'health ' || score_then || ' → ' || score || ' (' || band_then || ' → ' || band
              || ') between ' || strftime(on_then, '%Y-%m-%d') || ' and '
              || strftime("on", '%Y-%m-%d') AS evidence,
           CASE WHEN band = 'red' THEN 'high' ELSE '{health_impact}' END AS impact,
           CASE WHEN band = 'red' THEN 'high' ELSE '{health_urgency}' END AS urgency
    FROM bands
    WHERE band <> 'green'
      AND (CASE band WHEN 'yellow' THEN 1 ELSE 2 END)
          > (CASE band_then WHEN 'green' THEN 0 WHEN 'yellow' THEN 1 ELSE 2 END)
),
gone AS (
    SELECT account_id, feature, last_ts, before_n / {weeks}.0 AS avg
    FROM per_feature
    WHERE recent = 0 AND before_n / {weeks}.0 >= {abandon_min}
      AND account_id IN (SELECT account_id FROM per_feature GROUP BY account_id
                         HAVING sum(recent) > 0)
),
feature_abandoned AS (
    SELECT account_id, 'feature_abandoned' AS cause,
           string_agg(feature || ': unused for {abandon_days} days (last used '
                      || strftime(CAST(last_ts AS DATE), '%Y-%m-%d') || ') after '
                      || {avg_text} || ' events a week', '; ' ORDER BY avg DESC, feature)
              AS evidence,
           '{abandon_impact}' AS impact, '{abandon_urgency}' AS urgency
    FROM gone GROUP BY account_id
),
found AS (
    SELECT * FROM (
        SELECT * FROM usage_drop UNION ALL SELECT * FROM failed_burst
        UNION ALL SELECT * FROM champion_inactive UNION ALL SELECT * FROM ticket_cluster
        UNION ALL SELECT * FROM health_decline UNION ALL SELECT * FROM feature_abandoned
    ) WHERE account_id IN (SELECT account_id FROM pop)
),
ctx AS (
    SELECT a.account_id, coalesce(a.segment, 'smb') AS segment, coalesce(a.arr, 0.0) AS arr,
           coalesce(r.renewal_on, a.contract_end) AS renewal_on,
           coalesce(n.score, a.health) AS health,
           coalesce(r.executive_visibility, false) OR coalesce(x.exec_champion, false)
              AS executive_visibility,
           coalesce(r.competitive_risk, false) AS competitive_risk
    FROM read_parquet('{accounts}') a
    LEFT JOIN read_parquet('{renewals}') r USING (account_id)
    LEFT JOIN h_now n USING (account_id)
    LEFT JOIN (SELECT DISTINCT account_id, true AS exec_champion FROM read_parquet('{champions}')
               WHERE lower(role) IN ({exec_roles})) x USING (account_id)
),
scored AS (
    SELECT f.*, c.segment, c.arr, c.health, c.executive_visibility, c.competitive_risk,
           {weight_impact} * {weight_urgency} AS base,
           CASE WHEN c.renewal_on >= DATE '{day}' THEN c.renewal_on - DATE '{day}' END
              AS days_to_renewal
    FROM found f JOIN ctx c USING (account_id)
),
pointed AS (
    SELECT *,
           (CASE WHEN arr >= {high_arr} THEN 2 WHEN arr >= {mid_arr} THEN 1 ELSE 0 END)
           + (CASE WHEN days_to_renewal <= {renewal_soon} THEN 2
                   WHEN days_to_renewal <= {renewal_near} THEN 1 ELSE 0 END)
           + (CASE WHEN health < {red} THEN 2 WHEN health < {yellow} THEN 1 ELSE 0 END)
           + CAST(executive_visibility AS INTEGER) + CAST(competitive_risk AS INTEGER) AS points
    FROM scored
),
leveled AS (
    SELECT *, least(4, (CASE WHEN base >= {high_at} THEN 3 WHEN base >= {medium_at} THEN 2
                        ELSE 1 END) + (CASE WHEN points >= {raise_at} THEN 1 ELSE 0 END)) AS rnk
    FROM pointed
)
SELECT account_id, cause, evidence, impact, urgency,
       CASE rnk WHEN 4 THEN 'critical' WHEN 3 THEN 'high' WHEN 2 THEN 'medium' ELSE 'low' END
          AS level, base, points
FROM leveled
ORDER BY rnk DESC, base DESC, arr DESC, coalesce(days_to_renewal, 1000000),
         coalesce(health, 101), executive_visibility DESC, competitive_risk DESC, account_id, cause
