//! Server-side scripts: each runs atomically on the account's position string (KEYS[1]; see
//! `keys` for its format). Reads need none: they are a single `GET`.

use std::sync::LazyLock;

use redis::Script;

/// Loads the position string (refusing an account whose state is not in Redis) and defines
/// the helpers that find, split and rewrite one stock's line. `save()` writes it back.
const PRELUDE: &str = r#"
local blob = redis.call('GET', KEYS[1])
if not blob then return redis.error_reply('UNSEEDED account state is not in Redis') end
local function find(code)
  local s, e = string.find(blob, '\n' .. code .. '=', 1, true)
  if not s then return nil, nil, '', '', '' end
  local nl = string.find(blob, '\n', e + 1, true)
  local stop = nl and nl - 1 or #blob
  local h, x, n = string.match(string.sub(blob, e + 1, stop), '^([^|]*)|([^|]*)|([^|]*)$')
  return s, stop, h or '', x or '', n or ''
end
local function put(code, h, x, n)
  local s, stop = find(code)
  local line = ''
  if h ~= '' or x ~= '' or n ~= '' then line = '\n' .. code .. '=' .. h .. '|' .. x .. '|' .. n end
  if s then blob = string.sub(blob, 1, s - 1) .. line .. string.sub(blob, stop + 1)
  else blob = blob .. line end
end
local function save() redis.call('SET', KEYS[1], blob) end
"#;

fn script(body: &str) -> Script {
    Script::new(&format!("{PRELUDE}{body}"))
}

/// ARGV: codes. Opens each at 0 unless open; returns how many were opened.
pub static OPEN: LazyLock<Script> = LazyLock::new(|| {
    script(
        "local opened = 0
         for i = 1, #ARGV do
           local _, _, h, x, n = find(ARGV[i])
           if h == '' or h == 'c' then put(ARGV[i], '0', x, n); opened = opened + 1 end
         end
         if opened > 0 then save() end
         return opened",
    )
});

/// ARGV: code, held (`n` or `c`).
pub static SET_HELD: LazyLock<Script> = LazyLock::new(|| {
    script("local _, _, h, x, n = find(ARGV[1]) put(ARGV[1], ARGV[2], x, n) save() return 1")
});

/// ARGV: code. Marks closed if it has held days.
pub static CLOSE: LazyLock<Script> = LazyLock::new(|| {
    script("local _, _, h, x, n = find(ARGV[1]) if h ~= '' then put(ARGV[1], 'c', x, n) save() end return 1")
});

/// ARGV: code. Forgets the stock.
pub static REMOVE: LazyLock<Script> = LazyLock::new(|| script("put(ARGV[1], '', '', '') save() return 1"));

/// ARGV: code, price (already rounded). Raises the max; returns the stored max.
pub static RAISE_MAX: LazyLock<Script> = LazyLock::new(|| {
    script(
        "local _, _, h, x, n = find(ARGV[1])
         if x == '' or tonumber(ARGV[2]) > tonumber(x) then put(ARGV[1], h, ARGV[2], n) save() return ARGV[2] end
         return x",
    )
});

/// ARGV: code, price (already rounded). Lowers the min; returns the stored min.
pub static LOWER_MIN: LazyLock<Script> = LazyLock::new(|| {
    script(
        "local _, _, h, x, n = find(ARGV[1])
         if n == '' or tonumber(ARGV[2]) < tonumber(n) then put(ARGV[1], h, x, ARGV[2]) save() return ARGV[2] end
         return n",
    )
});

/// ARGV: today `YYYY-MM-DD`. `{1, incremented}` if applied now, `{0, last date}` if it had
/// already run on that date or later (ISO dates compare correctly as strings).
pub static INCREMENT: LazyLock<Script> = LazyLock::new(|| {
    script(
        "local header = string.match(blob, '^[^\\n]*')
         local epoch, last = string.match(header, '^@([^|]*)|(.*)$')
         if last and last ~= '' and last >= ARGV[1] then return {0, last} end
         local out = {'@' .. (epoch or '') .. '|' .. ARGV[1]}
         local count = 0
         for code, h, x, n in string.gmatch(blob, '\\n([^=\\n]*)=([^|\\n]*)|([^|\\n]*)|([^|\\n]*)') do
           if h ~= '' and h ~= 'c' then h = tostring(tonumber(h) + 1); count = count + 1 end
           out[#out + 1] = code .. '=' .. h .. '|' .. x .. '|' .. n
         end
         blob = table.concat(out, '\\n')
         save()
         return {1, count}",
    )
});
