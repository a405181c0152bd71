-- Daily bars, one row per (code, date); the highest `ver` wins, read with FINAL.
-- Prices are scaled integers: `close` in units of 10^-pscale, `open`/`high`/`low` as offsets
-- from `close` in the same units (small numbers that compress well even without codecs);
-- pscale 255 means the four columns hold raw IEEE-754 bits (a price no power of ten
-- up to 10^15 represents exactly). `amount` likewise with `ascale`. Yearly partitions keep the
-- "last N bars" reads to a handful of parts; small granules keep per-code reads small.
CREATE TABLE IF NOT EXISTS {db}.klines (
    code String,
    date Date,
    close Int64{codec:Delta, ZSTD(3)},
    open_off Int64{codec:T64, ZSTD(3)},
    high_off Int64{codec:T64, ZSTD(3)},
    low_off Int64{codec:T64, ZSTD(3)},
    pscale UInt8{codec:T64, ZSTD(3)},
    volume UInt64{codec:T64, ZSTD(3)},
    amount Int64{codec:T64, ZSTD(3)},
    ascale UInt8{codec:T64, ZSTD(3)},
    ver UInt64{codec:T64, ZSTD(3)}
) ENGINE = ReplacingMergeTree(ver)
PARTITION BY toYear(date)
ORDER BY (code, date)
SETTINGS index_granularity = 1024
