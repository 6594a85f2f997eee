--[=[
  drop: forgets a customer's cached state at once (repair, or a state found inconsistent): the
  state, its holds and every period it loaded. Idempotency keys stay; PostgreSQL backs them.

  ARGV[1]  customer key prefix
  ARGV[2]  cjson {}
  Returns the number of keys deleted.
]=]
local p = ARGV[1]
local keys = { p .. 's', p .. 'h', p .. 'hx', p .. 'ps' }
for _, per in ipairs(redis.call('SMEMBERS', p .. 'ps')) do table.insert(keys, p .. 'p:' .. per) end
return redis.call('DEL', unpack(keys))
