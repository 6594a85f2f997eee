--[=[
  post: makes committed holds final, after their events are durable in PostgreSQL.

  KEYS     the state's (see prelude), then i:<k> of every post and p:<per> of every period named
  ARGV[1]  cjson { v: "<customer version after the commit>", ttl: "<ms to remember the key>", now: "<ms>",
                   posts: [ { h: hold id, k: idempotency key, hs: request hash, ref: event or reservation id, w: wallet id or "",
                              keep: true to keep the hold (a committed authorization), hold: its record,
                              a: [[block, "<units>"]], per: period or "", c: [[counter, "<delta>"]],
                              mq: [meter, "<delta>"] or null, cur: currency, amt: "<units>", postpaid: bool } ] }
  Returns cjson { n = number of holds found, w = [[wallet id, "<available>", "<held>"]] } for the
  wallets of the posts, as they stand after them (when the state is loaded).

  A hold still here is moved from held to spent. A hold that is gone (Redis lost it) is applied
  from the arguments only when the state was loaded before this commit (v > rv; for counters
  v > the period's pv), because a later load read PostgreSQL with the commit already in it.
  When the state (or the period) is not loaded, the commit cannot be applied; it fences the hash
  at its version instead, so a load whose snapshot is older than this commit is refused.
]=]
local req = cjson.decode(ARGV[1])
local v = num(req.v)
local ttl = tonumber(req.ttl)
check(ttl and ttl > 0, 'ttl must be positive')
local now = tonumber(req.now)
check(now, 'now must be a number of milliseconds')
local posts = list(req.posts)
for _, x in ipairs(posts) do
  check(type(x.h) == 'string' and type(x.k) == 'string' and type(x.ref) == 'string' and type(x.w) == 'string', 'post needs h, k, ref and w')
  for _, a in ipairs(list(x.a)) do num(a[2]) end
  for _, c in ipairs(list(x.c)) do num(c[2]) end
  num(x.amt)
  check(type(x.per) == 'string', 'post needs a period key')
  x.ik = key('i:' .. x.k)
  if x.per ~= '' then x.pk = key('p:' .. x.per) end
end

local loaded = redis.call('HGET', S, 'loaded') == '1'
local rv = loaded and get(S, 'rv') or nil
local gen = loaded and redis.call('HGET', S, 'gen') or nil

-- Raises a hash's fence to this commit's version (kept a day, unless the hash is loaded).
local function fence(K, field)
  local f = redis.call('HGET', K, field)
  if not f or cmp(num(f), v) < 0 then redis.call('HSET', K, field, str(v)) end
  if redis.call('PTTL', K) == -1 and redis.call('HGET', K, 'loaded') ~= '1' then redis.call('PEXPIRE', K, 86400000) end
end
if not loaded and #posts > 0 then fence(S, 'fence') end
local found = 0
for _, x in ipairs(posts) do
  -- Posting the same commit twice (the sweep and the request racing) must count once.
  local done = redis.call('GET', x.ik) == ('D|' .. x.hs .. '|' .. x.ref)
  local here = not done and redis.call('HEXISTS', H, x.h) == 1
  if here then found = found + 1 end
  if here and not x.keep then
    for _, a in ipairs(list(x.a)) do
      local amount = num(a[2])
      put(S, 'br:' .. a[1], sub(get(S, 'br:' .. a[1]), amount))
      put(S, 'bh:' .. a[1], sub(get(S, 'bh:' .. a[1]), amount))
    end
    redis.call('HDEL', H, x.h)
    redis.call('ZREM', HX, x.h)
  elseif not here and not done and loaded and cmp(v, rv) > 0 then
    if x.keep then
      -- A committed authorization whose hold Redis lost after this state was loaded: hold it again.
      redis.call('HSET', H, x.h, cjson.encode(x.hold))
      redis.call('ZADD', HX, tonumber(x.hold.exp), x.h)
      for _, a in ipairs(list(x.a)) do put(S, 'bh:' .. a[1], add(get(S, 'bh:' .. a[1]), num(a[2]))) end
    else
      for _, a in ipairs(list(x.a)) do put(S, 'br:' .. a[1], sub(get(S, 'br:' .. a[1]), num(a[2]))) end
    end
  end
  if not here and not done and not x.keep and x.per ~= '' then
    local P = x.pk
    if sget(P, 'loaded') ~= '1' or sget(P, 'gen') ~= gen then
      fence(P, 'pf')
    elseif cmp(v, get(P, 'pv')) > 0 then
      for _, c in ipairs(list(x.c)) do put(P, 'c:' .. c[1], add(get(P, 'c:' .. c[1]), num(c[2]))) end
      if x.mq and x.mq ~= cjson.null then put(P, 'mq:' .. x.mq[1], add(get(P, 'mq:' .. x.mq[1]), num(x.mq[2]))) end
      if x.postpaid then put(P, 'sp:' .. x.cur, add(get(P, 'sp:' .. x.cur), num(x.amt))) end
    end
  end
  redis.call('SET', x.ik, 'D|' .. x.hs .. '|' .. x.ref, 'PX', ttl)
end
flush()

-- The wallets' figures after the posts: held is what open holds keep; available is what is
-- left in blocks that have not expired.
local figures, seen = {}, {}
if loaded then
  for _, x in ipairs(posts) do
    if x.w ~= '' and not seen[x.w] then
      seen[x.w] = true
      local held, available = ZERO, ZERO
      for blockId in string.gmatch(sget(S, 'wbl:' .. x.w) or '', '[^,]+') do
        local bh = get(S, 'bh:' .. blockId)
        held = add(held, bh)
        local expires = sget(S, 'bx:' .. blockId) or ''
        if expires == '' or tonumber(expires) > now then available = add(available, sub(get(S, 'br:' .. blockId), bh)) end
      end
      table.insert(figures, { x.w, str(available), str(held) })
    end
  end
end
return cjson.encode({ n = found, w = figures })
