--[=[
  load: builds a customer's state from a PostgreSQL snapshot, unless it is already loaded.

  KEYS     the state's (see prelude)
  ARGV[1]  cjson { v: "<customer version of the snapshot>", gen: "<a new random generation id>",
                   tok: the token begin-load returned before the snapshot was read,
                   wallets: [ { id, cur, mode, od, order } ], blocks: [ { id, kind, x, r: "<remaining>" } ],
                   caps: { currency: "<units>" }, holds: [ { id, rec: hold record, held: [[block, "<units>"]] } ] }
  Returns 1 when loaded, 0 when it already was, -1 when the snapshot is stale: the state was
  lost since begin-load (the token is gone), or a commit the store skipped while not loaded is
  newer than the snapshot (the fence). The caller reads a new snapshot and tries again.
]=]
local req = cjson.decode(ARGV[1])
num(req.v)
check(type(req.gen) == 'string' and req.gen ~= '', 'gen is required')
check(type(req.tok) == 'string' and req.tok ~= '', 'tok is required')
for _, b in ipairs(list(req.blocks)) do num(b.r) end
for _, w in ipairs(list(req.wallets)) do num(w.od) end
for _, h in ipairs(list(req.holds)) do for _, a in ipairs(list(h.held)) do num(a[2]) end end
if redis.call('HGET', S, 'loaded') == '1' then return 0 end
if redis.call('HGET', S, 'ld') ~= req.tok then return -1 end
local fence = redis.call('HGET', S, 'fence')
if fence and cmp(num(fence), num(req.v)) > 0 then return -1 end

redis.call('DEL', S, H, HX)
for _, w in ipairs(list(req.wallets)) do
  redis.call('HSET', S, 'wal:' .. w.cur, w.id, 'wm:' .. w.id, w.mode, 'wo:' .. w.id, w.od, 'wbl:' .. w.id, w.order)
end
for _, b in ipairs(list(req.blocks)) do
  redis.call('HSET', S, 'bk:' .. b.id, b.kind, 'bx:' .. b.id, b.x, 'br:' .. b.id, b.r, 'bh:' .. b.id, '0')
end
for cur, cap in pairs(req.caps or {}) do num(cap); redis.call('HSET', S, 'cap:' .. cur, cap) end
for _, h in ipairs(list(req.holds)) do
  redis.call('HSET', H, h.id, cjson.encode(h.rec))
  redis.call('ZADD', HX, tonumber(h.rec.exp), h.id)
  for _, a in ipairs(list(h.held)) do put(S, 'bh:' .. a[1], add(get(S, 'bh:' .. a[1]), num(a[2]))) end
end
flush()
redis.call('HSET', S, 'rv', req.v, 'gen', req.gen, 'loaded', '1')
return 1
