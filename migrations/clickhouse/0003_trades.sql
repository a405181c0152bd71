-- The trade journal: one row per trade identity (account, seq), seq being the ordinal of the
-- row in the account's journal; the highest `ver` wins and reads use FINAL, so the same row
-- written again is one trade, while identical journal lines (different ordinals) are two.
-- The sorting key is the identity alone (a key with the date in it would keep two rows of
-- one trade whose time was corrected across midnight), and there are no partitions:
-- ReplacingMergeTree replaces only within one.
-- `time` is the UTC instant, `date` the
-- market-local date the writer computed; `label` is the journal's label verbatim (`kind` its
-- English name, `other` for unknown labels); `amount_fen` is price × volume rounded to the
-- fen, so sums are exact; `code_style` is how the code was spelt (0 600000.SH, 1 600000.sh,
-- 2 SH600000, 3 sh600000, 4 bare); `strategy` is '' when unknown.
CREATE TABLE IF NOT EXISTS {db}.trades (
    account {lc:String},
    seq UInt64,
    time DateTime,
    date Date,
    code {lc:String},
    code_style UInt8,
    name String,
    kind {lc:String},
    label {lc:String},
    remark String,
    price Float64,
    volume UInt64,
    amount_fen Int64,
    strategy {lc:String},
    ver UInt64
) ENGINE = ReplacingMergeTree(ver)
ORDER BY (account, seq)
