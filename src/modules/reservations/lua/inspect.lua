--[=[
  inspect: reads a customer's state for queries, the sweep and reconcile, without changing it.

  KEYS     the state's (see prelude)
  ARGV[1]  cjson { expiredBefore: "<ms>" or "" }
  Returns cjson { loaded, rv, fields: { field: value } (the state hash), holds: { id: record },
                  expired: [hold ids whose expiry is before expiredBefore] }
]=]
local req = cjson.decode(ARGV[1])
local out = { loaded = redis.call('HGET', S, 'loaded') == '1', fields = {}, holds = {}, expired = {} }
local flat = redis.call('HGETALL', S)
for i = 1, #flat, 2 do out.fields[flat[i]] = flat[i + 1] end
local hs = redis.call('HGETALL', H)
for i = 1, #hs, 2 do out.holds[hs[i]] = cjson.decode(hs[i + 1]) end
if req.expiredBefore ~= '' then out.expired = redis.call('ZRANGEBYSCORE', HX, '-inf', '(' .. req.expiredBefore) end
return cjson.encode(out)
