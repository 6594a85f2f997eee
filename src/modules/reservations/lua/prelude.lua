--[=[
  Shared by every reservation script (prepended when scripts are loaded).

  Money and counters are integers of 1e-9 (ledger units), passed as decimal strings. Lua numbers
  are doubles, exact only to 2^53, so a value is held as two limbs {hi, lo} with
  value = hi * 1e9 + lo and 0 <= lo < 1e9: exact to about 9e24. Never tonumber() a value whole.

  Limb tables are values: functions below return new ones and never change their arguments.

  Keys: every key a script reads or writes is declared in KEYS (the EVAL contract), and all of a
  customer's keys share the hash tag {c:<customerId>}, so each call touches one slot: Redis
  Cluster routes it to the slot's master by its keys and redirects it (MOVED, ASK) by them. KEYS
  are the customer's prefix <p> (e.g. "billing:{c:<id>}:") followed by:
    KEYS[1] <p>s          hash   state: loaded, rv, gen, wallets, blocks, caps
    KEYS[2] <p>h          hash   holds: hold id -> cjson record
    KEYS[3] <p>hx         zset   hold ids by expiry (ms)
    KEYS[4] <p>ps         set    periods loaded (load-period adds), so that drop can name them
    KEYS[5] <p>never      -      never written: see below
    then, in any order, the keys of the request (store-codec.pure.ts lists them per script):
            <p>p:<period> hash   period counters: loaded, pv, gen, c:<counter>, mq:<meter>, sp:<currency>
            <p>i:<key>    string idempotency: "P|<hash>|<holdId>" in flight, "D|<hash>|<eventId>" done
            <p>sv:<version> string a versioned sync already applied
  ARGV[1] is the request (cjson); it names no key. A script names a key only through key(suffix),
  which fails, before the script writes anything, when the key was not declared.

  <p>never is declared so that no script runs while its slot migrates between masters: Redis
  runs a multi-key call there only when every declared key is on the node, which a key that
  never exists never is, so it answers TRYAGAIN until the slot has moved and the client retries.
  Otherwise a script could start on the old master with every key present, delete one (a hash
  emptied) and fail on touching it again, its first writes kept.
]=]
local B = 1000000000

local S, H, HX, PS = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local PREFIX = string.sub(S, 1, -2)
local declared = {}
for i = 6, #KEYS do declared[KEYS[i]] = true end
if H ~= PREFIX .. 'h' or HX ~= PREFIX .. 'hx' or PS ~= PREFIX .. 'ps' or KEYS[5] ~= PREFIX .. 'never' then
  error('KEYS[1..5] must be the customer\'s s, h, hx, ps and never')
end

-- The declared key <prefix><suffix>, or nil.
local function known(suffix)
  local k = PREFIX .. suffix
  if declared[k] then return k end
  return nil
end

-- The declared key <prefix><suffix>; an undeclared one is an error.
local function key(suffix)
  return known(suffix) or error('key not declared in KEYS: ' .. suffix)
end

local parsed = {}

-- Parses an integer string into limbs. Limb tables are never modified, so parses are shared.
local function num(s)
  local v = parsed[s]
  if v then return v end
  if type(s) ~= 'string' or not string.match(s, '^%-?%d+$') or #s > 25 then
    error('not an integer string: ' .. tostring(s))
  end
  local text = s
  local neg = string.sub(s, 1, 1) == '-'
  if neg then s = string.sub(s, 2) end
  local n = #s
  local hi, lo
  if n <= 9 then hi = 0; lo = tonumber(s) else hi = tonumber(string.sub(s, 1, n - 9)); lo = tonumber(string.sub(s, n - 8)) end
  if neg then
    if lo == 0 then hi = -hi else hi = -hi - 1; lo = B - lo end
  end
  v = { hi, lo }
  parsed[text] = v
  return v
end

local ZERO = { 0, 0 }

local function add(a, b)
  local lo = a[2] + b[2]
  local hi = a[1] + b[1]
  if lo >= B then lo = lo - B; hi = hi + 1 end
  return { hi, lo }
end

local function neg(a)
  if a[2] == 0 then return { -a[1], 0 } end
  return { -a[1] - 1, B - a[2] }
end

local function sub(a, b) return add(a, neg(b)) end

local function cmp(a, b)
  if a[1] ~= b[1] then return a[1] < b[1] and -1 or 1 end
  if a[2] ~= b[2] then return a[2] < b[2] and -1 or 1 end
  return 0
end

local function minv(a, b) if cmp(a, b) <= 0 then return a end return b end

local function str(a)
  if a[1] < 0 then return '-' .. str(neg(a)) end
  if a[1] == 0 then return string.format('%.0f', a[2]) end
  return string.format('%.0f', a[1]) .. string.format('%09.0f', a[2])
end

-- Reads a field as a number; absent means zero.
local function hnum(key, field)
  local v = redis.call('HGET', key, field)
  if not v then return ZERO end
  return num(v)
end

local function check(cond, message)
  if not cond then error(message) end
end

local function list(t)
  if t == nil or t == cjson.null then return {} end
  return t
end

-- Working copies of hash fields for one script call: read through once, written back by flush().
-- Scripts loop over many events of one customer; this keeps each field to one HGET and one HSET.
local cache, dirty, raw = {}, {}, {}

-- A field as a number (absent is zero), read once.
local function get(key, field)
  local id = key .. '\0' .. field
  local v = cache[id]
  if v == nil then v = hnum(key, field); cache[id] = v end
  return v
end

local function put(key, field, value)
  local id = key .. '\0' .. field
  cache[id] = value
  dirty[id] = { key, field }
end

-- A field as a string (false when absent), read once: for fields a script does not write.
local function sget(key, field)
  local id = key .. '\0' .. field
  local v = raw[id]
  if v == nil then v = redis.call('HGET', key, field) or false; raw[id] = v end
  return v
end

local function flush()
  for id, f in pairs(dirty) do redis.call('HSET', f[1], f[2], str(cache[id])) end
  dirty = {}
end

