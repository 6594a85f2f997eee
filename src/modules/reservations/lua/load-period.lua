--[=[
  load-period: sets a billing period's counters from a PostgreSQL snapshot, unless loaded.

  KEYS     the state's (see prelude), and p:<per>
  ARGV[1]  cjson { per: period key, v: "<customer version of the snapshot>", expireAt: "<ms>",
                   tok: the token begin-load returned for the period before the snapshot was read,
                   c: { counter: "<units>" }, mq: { meter: "<units>" }, sp: { currency: "<units>" } }
  Returns 1 when loaded, 0 when it already was, -1 when the customer's state is not loaded, -2
  when the snapshot is stale (the period lost its token, or a skipped commit fences it above the
  snapshot's version). The period records the state's generation; one from an earlier
  generation is replaced.
]=]
local req = cjson.decode(ARGV[1])
check(type(req.per) == 'string' and req.per ~= '', 'per is required')
local P = key('p:' .. req.per)
num(req.v)
check(tonumber(req.expireAt), 'expireAt must be milliseconds')
check(type(req.tok) == 'string' and req.tok ~= '', 'tok is required')
for _, x in pairs(req.c or {}) do num(x) end
for _, x in pairs(req.mq or {}) do num(x) end
for _, x in pairs(req.sp or {}) do num(x) end
local gen = redis.call('HGET', S, 'gen')
if not gen then return -1 end
if redis.call('HGET', P, 'loaded') == '1' and redis.call('HGET', P, 'gen') == gen then return 0 end
if redis.call('HGET', P, 'ld') ~= req.tok then return -2 end
local fence = redis.call('HGET', P, 'pf')
if fence and cmp(num(fence), num(req.v)) > 0 then return -2 end

redis.call('DEL', P)
redis.call('SADD', PS, req.per)
for k, x in pairs(req.c or {}) do redis.call('HSET', P, 'c:' .. k, x) end
for k, x in pairs(req.mq or {}) do redis.call('HSET', P, 'mq:' .. k, x) end
for k, x in pairs(req.sp or {}) do redis.call('HSET', P, 'sp:' .. k, x) end
redis.call('HSET', P, 'pv', req.v, 'gen', gen, 'loaded', '1')
redis.call('PEXPIREAT', P, tonumber(req.expireAt))
return 1
