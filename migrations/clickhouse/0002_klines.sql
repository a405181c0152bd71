-- Daily bars, one row per (code, date); the highest `ver` wins, read with FINAL.
-- The layout does what column codecs would on a modern server, so it compresses on 18.16 too:
-- prices are scaled integers, `close` in units of 10^-pscale and `open`/`high`/`low` as
-- offsets from `close` in the same units; pscale 255 means the four columns hold raw IEEE-754
-- bits (a price no power of ten up to 10^15 represents exactly). The open offset, which has
-- either sign, is zigzagged and split into 32-bit halves (`open_zz` low, `open_hi` high,
-- nearly always 0), as `volume` is (`volume`, `volume_hi`): four bytes compress better than
-- eight. `volume` is in board lots of 100 shares when `vscale` is 2 (shares when 0).
-- `amount_off` is the turnover in units of 10^-ascale minus volume × (open + high + low +
-- close) / 4 in those units (a small number: turnover is volume times the average price
-- paid); no prediction is subtracted when a scale is 255 or the product does not fit. Yearly partitions keep the "last N bars" reads to a handful of parts; small
-- granules keep per-code reads small.
CREATE TABLE IF NOT EXISTS {db}.klines (
    code {lc:String},
    date Date,
    close Int64{codec:Delta, ZSTD(3)},
    open_zz UInt32{codec:T64, ZSTD(3)},
    open_hi UInt32{codec:T64, ZSTD(3)},
    high_off Int64{codec:T64, ZSTD(3)},
    low_off Int64{codec:T64, ZSTD(3)},
    pscale UInt8{codec:T64, ZSTD(3)},
    volume UInt32{codec:T64, ZSTD(3)},
    volume_hi UInt32{codec:T64, ZSTD(3)},
    vscale UInt8{codec:T64, ZSTD(3)},
    amount_off Int64{codec:T64, ZSTD(3)},
    ascale UInt8{codec:T64, ZSTD(3)},
    ver UInt64{codec:T64, ZSTD(3)}
) ENGINE = ReplacingMergeTree(ver)
PARTITION BY toYear(date)
ORDER BY (code, date)
SETTINGS index_granularity = 1024
