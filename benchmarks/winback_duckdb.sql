-- The nightly win-back selection as one DuckDB query over the same Parquet files: the anchor
-- that benchmarks/winback_bench.py times against the production engine (polars).
-- Placeholders (filled by the benchmark from the policy): {candidates} {signals} {night}
-- {since} {until} {strengths} {structural} {gap} {low} {high} {strong} {cap}
WITH accounts AS (
    SELECT account_id, case_id, owner, strategic, churned_on, reason, product_gap, candidate,
           domain, competitor,
           reason IN ({structural}) AS structural,
           last_outreach_on IS NULL AS first_contact,
           churned_on + INTERVAL {low} MONTH <= DATE '{night}'
               AND churned_on + INTERVAL {high} MONTH >= DATE '{night}' AS in_first_window
    FROM read_parquet('{candidates}')
    WHERE NOT coalesce(won_back, false)
      AND NOT coalesce(clean_break, false)
      AND NOT coalesce(opted_out, false)
      AND (coalesce(candidate, false) OR reason IN ({structural}))
      AND (last_outreach_on IS NULL
           OR last_outreach_on + INTERVAL {gap} MONTH <= DATE '{night}')
),
strengths(type, strength) AS (VALUES {strengths}),
fresh AS (
    SELECT s.signal_id, s.type, s.account_id, s.domain, s.competitor, s.codes, s.observed_at,
           k.strength
    FROM read_parquet('{signals}') s JOIN strengths k USING (type)
    WHERE s.observed_at >= TIMESTAMPTZ '{since}' AND s.observed_at < TIMESTAMPTZ '{until}'
),
targeted AS (
    SELECT a.*, f.signal_id, f.type, f.observed_at, f.strength, f.codes
    FROM fresh f JOIN accounts a ON a.account_id = f.account_id
    UNION ALL
    SELECT a.*, f.signal_id, f.type, f.observed_at, f.strength, f.codes
    FROM fresh f JOIN accounts a ON a.domain = f.domain
    WHERE f.account_id IS NULL
    UNION ALL
    SELECT a.*, f.signal_id, f.type, f.observed_at, f.strength, f.codes
    FROM fresh f JOIN accounts a ON a.competitor = f.competitor
    WHERE f.account_id IS NULL AND f.domain IS NULL
      AND f.type IN ('competitor_acquired', 'competitor_price_change')
),
releases AS (
    SELECT DISTINCT signal_id, type, observed_at, strength, codes, unnest(codes) AS code
    FROM fresh
    WHERE account_id IS NULL AND domain IS NULL AND type = 'feature_shipped'
),
pairs AS (
    SELECT account_id, case_id, owner, strategic, churned_on, reason, product_gap, candidate,
           structural, first_contact, in_first_window, signal_id, type, observed_at, strength
    FROM targeted
    WHERE type <> 'feature_shipped'
       OR coalesce(list_contains(codes, product_gap), false)
       OR coalesce(list_contains(codes, reason), false)
    UNION ALL
    SELECT a.account_id, a.case_id, a.owner, a.strategic, a.churned_on, a.reason,
           a.product_gap, a.candidate, a.structural, a.first_contact, a.in_first_window,
           r.signal_id, r.type, r.observed_at, r.strength
    FROM releases r JOIN accounts a ON a.product_gap = r.code
    UNION ALL
    SELECT a.account_id, a.case_id, a.owner, a.strategic, a.churned_on, a.reason,
           a.product_gap, a.candidate, a.structural, a.first_contact, a.in_first_window,
           r.signal_id, r.type, r.observed_at, r.strength
    FROM releases r JOIN accounts a ON a.reason = r.code
),
allowed AS (
    SELECT * FROM pairs
    WHERE observed_at >= CAST(churned_on AS TIMESTAMPTZ)
      AND (NOT structural OR type = 'champion_moved')
      AND (candidate OR type = 'champion_moved')
      AND (NOT first_contact OR strength >= {strong} OR in_first_window)
),
best AS (
    SELECT * FROM allowed
    QUALIFY row_number() OVER (
        PARTITION BY account_id ORDER BY strength DESC, observed_at DESC, signal_id
    ) = 1
)
SELECT account_id, case_id, owner, strategic, reason, product_gap, signal_id, type,
       observed_at, strength
FROM best
QUALIFY row_number() OVER (
    PARTITION BY owner ORDER BY strength DESC, observed_at DESC, account_id
) <= {cap}
