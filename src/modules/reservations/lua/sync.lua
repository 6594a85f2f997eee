--[=[
  sync: tells a loaded state about changes committed outside usage: top-ups, grants, expiries,
  adjustments (deltas), new wallets and blocks, limit modes, spending caps (settings).

  KEYS     the state's (see prelude), and sv:<v> when v is given
  ARGV[1]  cjson { v: "<customer version after the commit>" or "",
                   wallets: [ { id, cur, mode, od: "<units>", order: "block,block,..." } ],
                   blocks: [ { id, kind: "M"|"G", x: "<expiry ms>" or "" } ],
                   deltas: [ [block, "<units>"] ], caps: { currency: "<units>" or "" } }
  Returns 1 when applied, 0 when the state is not loaded (the next load reads it all): then a
  versioned change fences the state at its version, and a change of settings (no version)
  cancels a load in progress, so that no load installs a snapshot read before the change.

  Settings are absolute and always applied; deltas only when the state was loaded before the
  commit (v > rv), since a later load already counted them, and only once per commit (a marker
  per version makes a retried sync harmless).
]=]
local req = cjson.decode(ARGV[1])
for _, d in ipairs(list(req.deltas)) do num(d[2]) end
for _, w in ipairs(list(req.wallets)) do num(w.od); check(w.mode == 'HARD' or w.mode == 'SOFT' or w.mode == 'OVERDRAFT', 'bad mode') end
check(type(req.v) == 'string', 'v must be a string')
local SV = nil
if req.v ~= '' then num(req.v); SV = key('sv:' .. req.v) end
if redis.call('HGET', S, 'loaded') ~= '1' then
  if req.v ~= '' then
    local f = redis.call('HGET', S, 'fence')
    if not f or cmp(num(f), num(req.v)) < 0 then redis.call('HSET', S, 'fence', req.v) end
  else
    redis.call('HDEL', S, 'ld')
  end
  if redis.call('EXISTS', S) == 1 and redis.call('PTTL', S) == -1 then redis.call('PEXPIRE', S, 86400000) end
  return 0
end

for _, w in ipairs(list(req.wallets)) do
  redis.call('HSET', S, 'wal:' .. w.cur, w.id, 'wm:' .. w.id, w.mode, 'wo:' .. w.id, w.od, 'wbl:' .. w.id, w.order)
end
for _, b in ipairs(list(req.blocks)) do
  redis.call('HSET', S, 'bk:' .. b.id, b.kind, 'bx:' .. b.id, b.x)
  redis.call('HSETNX', S, 'br:' .. b.id, '0')
  redis.call('HSETNX', S, 'bh:' .. b.id, '0')
end
for cur, cap in pairs(req.caps or {}) do
  if cap == '' then redis.call('HDEL', S, 'cap:' .. cur) else num(cap); redis.call('HSET', S, 'cap:' .. cur, cap) end
end
if req.v ~= '' and cmp(num(req.v), hnum(S, 'rv')) > 0 and #list(req.deltas) > 0
   and redis.call('SET', SV, '1', 'NX', 'PX', 86400000) then
  for _, d in ipairs(list(req.deltas)) do redis.call('HSET', S, 'br:' .. d[1], str(add(hnum(S, 'br:' .. d[1]), num(d[2])))) end
end
return 1
