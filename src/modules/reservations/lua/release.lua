--[=[
  release: gives back what holds reserved (an event that was not committed, an authorization
  cancelled or expired). Counters and period spend the hold added are taken back, and the
  idempotency key of an uncommitted event is forgotten so a retry is evaluated afresh.

  ARGV[1]  customer key prefix
  ARGV[2]  cjson { holds: [hold id], forget: true to delete the holds' in-flight idempotency keys }
  Returns the number of holds released.
]=]
local p = ARGV[1]
local req = cjson.decode(ARGV[2])
local S, H, HX = p .. 's', p .. 'h', p .. 'hx'
local ids = list(req.holds)
for _, id in ipairs(ids) do check(type(id) == 'string', 'hold ids are strings') end

local released = 0
for _, id in ipairs(ids) do
  local raw = redis.call('HGET', H, id)
  if raw then
    local hold = cjson.decode(raw)
    for _, a in ipairs(list(hold.a)) do
      redis.call('HSET', S, 'bh:' .. a[1], str(sub(hnum(S, 'bh:' .. a[1]), num(a[2]))))
    end
    if hold.per ~= '' then
      local P = p .. 'p:' .. hold.per
      if redis.call('HGET', P, 'loaded') == '1' then
        for _, c in ipairs(list(hold.c)) do redis.call('HSET', P, 'c:' .. c[1], str(sub(hnum(P, 'c:' .. c[1]), num(c[2])))) end
        if hold.mq and hold.mq ~= cjson.null then redis.call('HSET', P, 'mq:' .. hold.mq[1], str(sub(hnum(P, 'mq:' .. hold.mq[1]), num(hold.mq[2])))) end
        if hold.postpaid then redis.call('HSET', P, 'sp:' .. hold.cur, str(sub(hnum(P, 'sp:' .. hold.cur), num(hold.amt)))) end
      end
    end
    if req.forget then
      local ik = p .. 'i:' .. hold.k
      local cur = redis.call('GET', ik)
      if cur and string.sub(cur, 1, 2) == 'P|' and string.sub(cur, -#id - 1) == '|' .. id then redis.call('DEL', ik) end
    end
    redis.call('HDEL', H, id)
    redis.call('ZREM', HX, id)
    released = released + 1
  end
end
return released
