--[=[
  reserve: checks and holds the money for a customer's events, atomically.

  KEYS     the state's (see prelude), then i:<k> of every event and p:<per> of every period named
  ARGV[1]  cjson request:
    { now: "<ms>", atomic: true|false,
      ev: [ { k: idempotency key, hs: request hash, h: new hold id, exp: "<ms>", t: "u" usage | "r" authorization,
              cur: currency, amt: "<units>", per: period key ("" for none), from: hold id being settled (optional),
              c: [[counter key, "<delta>", "<valid from>", "<valid to>" or ""]],
              mq: [meter, "<delta>", "<valid from>" or "", "<valid to>" or ""] (optional) } ] }

  Returns cjson { s = "OK", r = [result per event] }, or { s = "LOAD" } when the customer's state
  must be loaded first, or { s = "PERIOD", p = [period keys] } when counters of a period must be.
  Each result: { s = "OK", w = wallet id or "", a = [[block, "<units>"]], av = "<available after>",
                 soft = true|false, c = { counter = "<value after>" }, mq = "<meter quantity after>" }
             | { s = "FUNDS", av } | { s = "CAP", sp, cap } | { s = "RERATE", c = { counter = "<value>" }, mq }
             | { s = "DUP", e = event id } | { s = "PENDING" } | { s = "REUSED" } | { s = "HOLD_GONE" } | { s = "SKIP" }

  Everything is validated and computed before the first write. With atomic = true either every
  event is OK and all are written, or none is written and the failures say why.
]=]
local req = cjson.decode(ARGV[1])
local now = tonumber(req.now)
check(now, 'now must be a number of milliseconds')
local events = list(req.ev)

-- Validate every argument before touching anything.
for _, e in ipairs(events) do
  check(type(e.k) == 'string' and #e.k > 0 and type(e.hs) == 'string' and type(e.h) == 'string', 'event needs k, hs and h')
  check(e.t == 'u' or e.t == 'r', 'event type must be u or r')
  check(type(e.cur) == 'string', 'event needs a currency')
  num(e.amt); check(cmp(num(e.amt), ZERO) >= 0, 'amount must not be negative')
  check(tonumber(e.exp), 'exp must be milliseconds')
  check(type(e.per) == 'string', 'event needs a period key')
  e.ik = key('i:' .. e.k)
  if e.per ~= '' then e.pk = key('p:' .. e.per) end
  for _, c in ipairs(list(e.c)) do num(c[2]); num(c[3]); if c[4] ~= '' then num(c[4]) end end
  if e.mq and e.mq ~= cjson.null then num(e.mq[2]); if e.mq[3] ~= '' then num(e.mq[3]) end; if e.mq[4] ~= '' then num(e.mq[4]) end end
end

if redis.call('HGET', S, 'loaded') ~= '1' then return cjson.encode({ s = 'LOAD' }) end
-- A period counts as loaded only under the state's generation: counters that outlived a lost
-- state would count again what the new load read from PostgreSQL.
local gen = redis.call('HGET', S, 'gen')
local missing, seenPeriod = {}, {}
for _, e in ipairs(events) do
  if e.per ~= '' and not seenPeriod[e.per] then
    seenPeriod[e.per] = true
    local P = e.pk
    if redis.call('HGET', P, 'loaded') ~= '1' or redis.call('HGET', P, 'gen') ~= gen then table.insert(missing, e.per) end
  end
end
if #missing > 0 then return cjson.encode({ s = 'PERIOD', p = missing }) end

local newHolds, goneHolds, pending = {}, {}, {}
local function holdOf(id)
  if goneHolds[id] then return nil end
  if newHolds[id] then return newHolds[id] end
  local stored = redis.call('HGET', H, id)
  return stored and cjson.decode(stored) or nil
end

local function available(walletId)
  local total = ZERO
  for blockId in string.gmatch(sget(S, 'wbl:' .. walletId) or '', '[^,]+') do
    local x = sget(S, 'bx:' .. blockId) or ''
    if x == '' or tonumber(x) > now then total = add(total, sub(get(S, 'br:' .. blockId), get(S, 'bh:' .. blockId))) end
  end
  return total
end

local function process(e)
  local ik = e.ik
  if pending[e.k] then return pending[e.k] == e.hs and { s = 'PENDING' } or { s = 'REUSED' } end
  local existing = redis.call('GET', ik)
  if existing then
    local st, hs, ref = string.match(existing, '^(%a)|([^|]*)|(.*)$')
    if hs ~= e.hs then return { s = 'REUSED' } end
    if st == 'D' then return { s = 'DUP', e = ref } end
    return { s = 'PENDING' }
  end

  local P = e.pk
  local counters, rerate = {}, false
  if P then
    for _, c in ipairs(list(e.c)) do
      local v = get(P, 'c:' .. c[1])
      counters[c[1]] = v
      if cmp(v, num(c[3])) < 0 or (c[4] ~= '' and cmp(v, num(c[4])) > 0) then rerate = true end
    end
  end
  local mq = nil
  if P and e.mq and e.mq ~= cjson.null then
    mq = get(P, 'mq:' .. e.mq[1])
    if (e.mq[3] ~= '' and cmp(mq, num(e.mq[3])) < 0) or (e.mq[4] ~= '' and cmp(mq, num(e.mq[4])) > 0) then rerate = true end
  end
  if rerate then
    local c = {}
    for k, v in pairs(counters) do c[k] = str(v) end
    return { s = 'RERATE', c = c, mq = mq and str(mq) or '' }
  end

  local settling = nil
  if e.from and e.from ~= cjson.null then
    settling = holdOf(e.from)
    if not settling or tonumber(settling.exp) <= now then return { s = 'HOLD_GONE' } end
  end
  local released = {}
  if settling then for _, a in ipairs(list(settling.a)) do released[a[1]] = add(released[a[1]] or ZERO, num(a[2])) end end
  -- A postpaid authorization counted its estimate as spent; settling gives that back first.
  local unspent = (settling and settling.postpaid and settling.per == e.per) and num(settling.amt) or ZERO

  local amt = num(e.amt)
  local walletId = sget(S, 'wal:' .. e.cur)
  local alloc, soft = {}, false
  if walletId then
    local mode = sget(S, 'wm:' .. walletId) or 'HARD'
    local need, mainId = amt, nil
    for blockId in string.gmatch(sget(S, 'wbl:' .. walletId) or '', '[^,]+') do
      if cmp(need, ZERO) <= 0 then break end
      local kind = sget(S, 'bk:' .. blockId)
      local x = sget(S, 'bx:' .. blockId) or ''
      if x == '' or tonumber(x) > now then
        local free = sub(sub(get(S, 'br:' .. blockId), get(S, 'bh:' .. blockId)), neg(released[blockId] or ZERO))
        if kind == 'M' then
          mainId = blockId
          if mode == 'OVERDRAFT' then free = add(free, get(S, 'wo:' .. walletId)) end
          if mode == 'SOFT' then free = need end
        end
        if cmp(free, ZERO) > 0 then
          local take = minv(free, need)
          table.insert(alloc, { blockId, take })
          need = sub(need, take)
        end
      end
    end
    if cmp(need, ZERO) > 0 then return { s = 'FUNDS', av = str(available(walletId)) } end
    if mode == 'SOFT' and mainId then
      local mainTake = ZERO
      for _, a in ipairs(alloc) do if a[1] == mainId then mainTake = a[2] end end
      local left = sub(sub(sub(get(S, 'br:' .. mainId), get(S, 'bh:' .. mainId)), neg(released[mainId] or ZERO)), mainTake)
      soft = cmp(left, ZERO) < 0
    end
  else
    local cap = sget(S, 'cap:' .. e.cur)
    if cap and P then
      local spent = sub(get(P, 'sp:' .. e.cur), unspent)
      if cmp(add(spent, amt), num(cap)) > 0 then return { s = 'CAP', sp = str(spent), cap = cap } end
    end
  end

  -- The event passes: apply it to the working copies.
  for blockId, amount in pairs(released) do put(S, 'bh:' .. blockId, sub(get(S, 'bh:' .. blockId), amount)) end
  for _, a in ipairs(alloc) do put(S, 'bh:' .. a[1], add(get(S, 'bh:' .. a[1]), a[2])) end
  local after = {}
  if P then
    for _, c in ipairs(list(e.c)) do
      local v = add(get(P, 'c:' .. c[1]), num(c[2]))
      put(P, 'c:' .. c[1], v)
      after[c[1]] = str(v)
    end
    if mq then mq = add(mq, num(e.mq[2])); put(P, 'mq:' .. e.mq[1], mq) end
    if not walletId then put(P, 'sp:' .. e.cur, add(sub(get(P, 'sp:' .. e.cur), unspent), amt)) end
  end
  if settling then goneHolds[e.from] = true; newHolds[e.from] = nil end
  local a = {}
  for i, x in ipairs(alloc) do a[i] = { x[1], str(x[2]) } end
  local hc = {}
  if P then for i, c in ipairs(list(e.c)) do hc[i] = { c[1], c[2] } end end
  newHolds[e.h] = {
    t = e.t, k = e.k, hs = e.hs, cur = e.cur, amt = e.amt, w = walletId or '', a = a, exp = e.exp, cr = req.now,
    per = e.per or '', c = hc, mq = (P and e.mq and e.mq ~= cjson.null) and { e.mq[1], e.mq[2] } or cjson.null,
    postpaid = walletId == nil or walletId == false,
  }
  pending[e.k] = e.hs
  return { s = 'OK', w = walletId or '', a = a, av = walletId and str(available(walletId)) or '', soft = soft, c = after, mq = mq and str(mq) or '' }
end

local results, failed = {}, false
for i, e in ipairs(events) do
  results[i] = process(e)
  if results[i].s ~= 'OK' then failed = true end
end
if req.atomic and failed then
  for i, r in ipairs(results) do if r.s == 'OK' then results[i] = { s = 'SKIP' } end end
  return cjson.encode({ s = 'OK', r = results })
end

flush()
-- A settled authorization's hold is replaced by the event's; its idempotency record stays.
for id in pairs(goneHolds) do
  redis.call('HDEL', H, id)
  redis.call('ZREM', HX, id)
end
for id, hold in pairs(newHolds) do
  redis.call('HSET', H, id, cjson.encode(hold))
  redis.call('ZADD', HX, tonumber(hold.exp), id)
  redis.call('SET', key('i:' .. hold.k), 'P|' .. hold.hs .. '|' .. id, 'PX', math.max(1, tonumber(hold.exp) - now + 86400000))
end
return cjson.encode({ s = 'OK', r = results })
