//! Server-side scripts: each runs atomically on one account's string (`KEYS[1]`; the grammar
//! is in `codec`), after checking it belongs to the namespace's current epoch.
//!
//! Calling convention, the same for every script:
//! - `KEYS[1]` the account string; `KEYS[2]` the namespace marker — on a single server only,
//!   where the script reads the marker itself in the same atomic step. In a cluster the marker
//!   lives in another slot, so the client reads it first and passes it as `ARGV[1]` (`""` when
//!   absent); on a single server `ARGV[1]` is ignored.
//! - `ARGV[2..]` the operation's arguments.
//!
//! Refusals are error replies with a code the client maps: `UNSEEDED` (no string: never seeded
//! or lost), `STALE` (no marker, or the string's epoch is not the marker's) and `CORRUPT` (the
//! string does not follow the grammar — refused whole, never partly rewritten).

use std::sync::LazyLock;

use redis::Script;

/// Parses the account string, checks its epoch, and defines `get`, `put` and `save`.
const PRELUDE: &str = r#"
local function corrupt(line, why) error({err = 'CORRUPT line ' .. line .. ': ' .. why}) end
local DAYS = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}
local function valid_date(d)
  local y, m, dd = string.match(d, '^(%d%d%d%d)%-(%d%d)%-(%d%d)$')
  if not y then return false end
  y, m, dd = tonumber(y), tonumber(m), tonumber(dd)
  if y < 1970 or y > 2105 or m < 1 or m > 12 or dd < 1 then return false end
  local max = DAYS[m]
  if m == 2 and y % 4 == 0 and (y % 100 ~= 0 or y % 400 == 0) then max = 29 end
  return dd <= max
end
local function valid_held(h)
  if h == '' or h == 'c' or h == '0' then return true end
  if #h > 10 or not string.match(h, '^[1-9]%d*$') then return false end
  return tonumber(h) <= 4294967295
end
local function valid_price(p)
  if p == '' then return true end
  local int = string.match(p, '^(%d+)$') or string.match(p, '^(%d+)%.%d%d?%d?$')
  if not int or #int > 13 then return false end
  local v = tonumber(p)
  return v > 0 and v <= 1e12
end

local marker
if #KEYS > 1 then marker = redis.call('GET', KEYS[2]) else marker = ARGV[1] end
local blob = redis.call('GET', KEYS[1])
if not blob then return redis.error_reply('UNSEEDED the account string does not exist') end

local nl = string.find(blob, '\n', 1, true)
local header = nl and string.sub(blob, 1, nl - 1) or blob
local epoch, inc = string.match(header, '^@([0-9a-f]+)|(.*)$')
if not epoch or #epoch > 32 then corrupt(1, 'the header is not @<epoch>|<date>') end
if inc ~= '' and not valid_date(inc) then corrupt(1, 'the last increment is not a YYYY-MM-DD date') end
local order, rows = {}, {}
local pos, line = nl and nl + 1, 1
while pos do
  line = line + 1
  local e = string.find(blob, '\n', pos, true)
  local l = string.sub(blob, pos, e and e - 1 or #blob)
  local code, h, x, n = string.match(l, '^(%d%d%d%d%d%d%.[A-Z][A-Z])=([^|]*)|([^|]*)|([^|]*)$')
  if not code then corrupt(line, 'not <code>=<held>|<max>|<min>') end
  local market = string.sub(code, 8)
  if market ~= 'SH' and market ~= 'SZ' and market ~= 'BJ' then corrupt(line, 'unknown market') end
  if rows[code] then corrupt(line, code .. ' appears twice') end
  if not valid_held(h) then corrupt(line, 'bad held days of ' .. code) end
  if not valid_price(x) or not valid_price(n) then corrupt(line, 'bad price of ' .. code) end
  if h == '' and x == '' and n == '' then corrupt(line, code .. ' holds nothing') end
  rows[code] = {h, x, n}
  order[#order + 1] = code
  pos = e and e + 1
end

local current
if marker and marker ~= '' then
  local e, st = string.match(marker, '^([0-9a-f]+) (%a+)$')
  if not e or #e > 32 or (st ~= 'ready' and st ~= 'rehydrating') then
    return redis.error_reply('CORRUPT the namespace marker is not "<epoch> ready|rehydrating"')
  end
  current = e
end
if not current then
  return redis.error_reply('STALE the namespace marker is missing: Redis lost the namespace')
end
if current ~= epoch then
  return redis.error_reply('STALE the account string is from epoch ' .. epoch .. ' but the namespace is in epoch ' .. current)
end

local function get(code)
  local r = rows[code]
  if r then return r[1], r[2], r[3] end
  return '', '', ''
end
local function put(code, h, x, n)
  if h == '' and x == '' and n == '' then
    rows[code] = nil
  else
    if not rows[code] then order[#order + 1] = code end
    rows[code] = {h, x, n}
  end
end
local function render()
  local out = {'@' .. epoch .. '|' .. inc}
  local seen = {}
  for _, code in ipairs(order) do
    local r = rows[code]
    if r and not seen[code] then
      seen[code] = true
      out[#out + 1] = code .. '=' .. r[1] .. '|' .. r[2] .. '|' .. r[3]
    end
  end
  return table.concat(out, '\n')
end
local function save() redis.call('SET', KEYS[1], render()) end
"#;

fn script(body: &str) -> Script {
    Script::new(&format!("{PRELUDE}{body}"))
}

/// Nothing changed: returns the string as the script re-renders it (a validated read; the
/// codec agreement tests compare it with Rust's encoding).
pub static CANONICAL: LazyLock<Script> = LazyLock::new(|| script("return render()"));

/// ARGV[2..]: codes. Opens each at 0 unless open; returns how many were opened.
pub static OPEN: LazyLock<Script> = LazyLock::new(|| {
    script(
        "local opened = 0
         for i = 2, #ARGV do
           local h, x, n = get(ARGV[i])
           if h == '' or h == 'c' then put(ARGV[i], '0', x, n); opened = opened + 1 end
         end
         if opened > 0 then save() end
         return opened",
    )
});

/// ARGV[2]: code, ARGV[3]: held (`n` or `c`).
pub static SET_HELD: LazyLock<Script> =
    LazyLock::new(|| script("local h, x, n = get(ARGV[2]) put(ARGV[2], ARGV[3], x, n) save() return 1"));

/// ARGV[2]: code. Marks closed if it has held days.
pub static CLOSE: LazyLock<Script> = LazyLock::new(|| {
    script("local h, x, n = get(ARGV[2]) if h ~= '' then put(ARGV[2], 'c', x, n) save() end return 1")
});

/// ARGV[2]: code. Forgets the stock.
pub static REMOVE: LazyLock<Script> = LazyLock::new(|| script("put(ARGV[2], '', '', '') save() return 1"));

/// ARGV[2]: code, ARGV[3]: price (already rounded). Raises the max; returns the stored max.
pub static RAISE_MAX: LazyLock<Script> = LazyLock::new(|| {
    script(
        "local h, x, n = get(ARGV[2])
         if x == '' or tonumber(ARGV[3]) > tonumber(x) then put(ARGV[2], h, ARGV[3], n) save() return ARGV[3] end
         return x",
    )
});

/// ARGV[2]: code, ARGV[3]: price (already rounded). Lowers the min; returns the stored min.
pub static LOWER_MIN: LazyLock<Script> = LazyLock::new(|| {
    script(
        "local h, x, n = get(ARGV[2])
         if n == '' or tonumber(ARGV[3]) < tonumber(n) then put(ARGV[2], h, x, ARGV[3]) save() return ARGV[3] end
         return n",
    )
});

/// ARGV[2]: today `YYYY-MM-DD`. `{1, incremented}` if applied now, `{0, last date}` if it had
/// already run on that date or later (ISO dates compare correctly as strings). A count at the
/// top of its range stays there, as the other tiers saturate.
pub static INCREMENT: LazyLock<Script> = LazyLock::new(|| {
    script(
        "if inc ~= '' and inc >= ARGV[2] then return {0, inc} end
         local count = 0
         for _, code in ipairs(order) do
           local r = rows[code]
           if r and r[1] ~= '' and r[1] ~= 'c' then
             if r[1] ~= '4294967295' then r[1] = tostring(tonumber(r[1]) + 1) end
             count = count + 1
           end
         end
         inc = ARGV[2]
         save()
         return {1, count}",
    )
});

/// The namespace marker alone (KEYS[1]): ARGV[1] expected value, ARGV[2] new value. Sets it
/// only if it still holds the expected value; returns 1 if it did.
pub static MARKER_SWAP: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) return 1 end
         return 0",
    )
});
