-- The daily total-asset curve: one row per (account, date); the highest `ver` wins, so
-- writing a point again replaces it and reads with FINAL see one row before any merge.
-- `total` is the decimal text of the amount, exact whatever its scale.
CREATE TABLE IF NOT EXISTS {db}.assets (
    account String,
    date Date,
    total String,
    ver UInt64
) ENGINE = ReplacingMergeTree(ver)
PARTITION BY toYear(date)
ORDER BY (account, date)
