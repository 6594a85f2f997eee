--[=[
  release: gives back what holds reserved (an event that was not committed, an authorization
  cancelled or expired). Counters and period spend the hold added are taken back, and the
  idempotency key of an uncommitted event is forgotten so a retry is evaluated afresh.

  KEYS     the state's (see prelude), then i:<k> and p:<per> of every hold, as the caller read
           them from the holds before the call
  ARGV[1]  cjson { holds: [hold id], forget: true to delete the holds' in-flight idempotency keys }
  Returns the number of holds released. Called while the state is not loaded (an authorization
  released in PostgreSQL meanwhile), it cancels any load in progress, whose snapshot may predate
  the release. When a hold needs a key that was not declared (one stored after the caller read
  the holds), it changes nothing and returns cjson [[k, per]] of those holds: the caller
  declares their keys and calls again.
]=]
local req = cjson.decode(ARGV[1])
local ids = list(req.holds)
for _, id in ipairs(ids) do check(type(id) == 'string', 'hold ids are strings') end

-- Every hold's keys are checked before anything is written.
local holds, undeclared = {}, {}
for _, id in ipairs(ids) do
  local stored = redis.call('HGET', H, id)
  if stored then
    local hold = cjson.decode(stored)
    holds[id] = hold
    if not known('i:' .. hold.k) or (hold.per ~= '' and not known('p:' .. hold.per)) then table.insert(undeclared, { hold.k, hold.per }) end
  end
end
if #undeclared > 0 then return cjson.encode(undeclared) end

if redis.call('HGET', S, 'loaded') ~= '1' then redis.call('HDEL', S, 'ld') end

local released = 0
for _, id in ipairs(ids) do
  local hold = holds[id]
  if hold then
    holds[id] = nil
    for _, a in ipairs(list(hold.a)) do put(S, 'bh:' .. a[1], sub(get(S, 'bh:' .. a[1]), num(a[2]))) end
    if hold.per ~= '' then
      local P = key('p:' .. hold.per)
      if sget(P, 'loaded') == '1' then
        for _, c in ipairs(list(hold.c)) do put(P, 'c:' .. c[1], sub(get(P, 'c:' .. c[1]), num(c[2]))) end
        if hold.mq and hold.mq ~= cjson.null then put(P, 'mq:' .. hold.mq[1], sub(get(P, 'mq:' .. hold.mq[1]), num(hold.mq[2]))) end
        if hold.postpaid then put(P, 'sp:' .. hold.cur, sub(get(P, 'sp:' .. hold.cur), num(hold.amt))) end
      end
    end
    if req.forget then
      local ik = key('i:' .. hold.k)
      local cur = redis.call('GET', ik)
      if cur and string.sub(cur, 1, 2) == 'P|' and string.sub(cur, -#id - 1) == '|' .. id then redis.call('DEL', ik) end
    end
    redis.call('HDEL', H, id)
    redis.call('ZREM', HX, id)
    released = released + 1
  end
end
flush()
return released
