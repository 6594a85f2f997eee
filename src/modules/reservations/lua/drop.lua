--[=[
  drop: forgets a customer's cached state at once (repair, or a state found inconsistent): the
  state, its holds and every period it loaded. Idempotency keys stay; PostgreSQL backs them.

  KEYS     the state's (see prelude), and p:<per> of every period the caller read from ps
  ARGV[1]  cjson {}
  Returns the number of keys deleted, or, when ps lists a period whose key was not declared (one
  loaded after the caller read ps), cjson [period keys in ps] and deletes nothing: the caller
  declares them and calls again. Either everything goes in one step or nothing does.
]=]
local periods = redis.call('SMEMBERS', PS)
local keys = { S, H, HX, PS }
for _, per in ipairs(periods) do
  local P = known('p:' .. per)
  if not P then return cjson.encode(periods) end
  table.insert(keys, P)
end
return redis.call('DEL', unpack(keys))
