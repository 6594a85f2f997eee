--[=[
  load-period: sets a billing period's counters from a PostgreSQL snapshot, unless loaded.

  ARGV[1]  customer key prefix
  ARGV[2]  cjson { per: period key, v: "<customer version of the snapshot>", expireAt: "<ms>",
                   c: { counter: "<units>" }, mq: { meter: "<units>" }, sp: { currency: "<units>" } }
  Returns 1 when loaded, 0 when it already was.
]=]
local p = ARGV[1]
local req = cjson.decode(ARGV[2])
check(type(req.per) == 'string' and req.per ~= '', 'per is required')
local P = p .. 'p:' .. req.per
num(req.v)
check(tonumber(req.expireAt), 'expireAt must be milliseconds')
for _, x in pairs(req.c or {}) do num(x) end
for _, x in pairs(req.mq or {}) do num(x) end
for _, x in pairs(req.sp or {}) do num(x) end
if redis.call('HGET', P, 'loaded') == '1' then return 0 end

redis.call('DEL', P)
for k, x in pairs(req.c or {}) do redis.call('HSET', P, 'c:' .. k, x) end
for k, x in pairs(req.mq or {}) do redis.call('HSET', P, 'mq:' .. k, x) end
for k, x in pairs(req.sp or {}) do redis.call('HSET', P, 'sp:' .. k, x) end
redis.call('HSET', P, 'pv', req.v, 'loaded', '1')
redis.call('PEXPIREAT', P, tonumber(req.expireAt))
return 1
