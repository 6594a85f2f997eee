--[=[
  begin-load: marks that a load of a customer's state (or of one of its periods) is starting, so
  that the load can tell whether anything happened in between that its snapshot may miss.

  KEYS     the state's (see prelude), and p:<per> when a period is named
  ARGV[1]  cjson { per: period key, or "" for the customer's state, tok: a new random token }
  Returns the token the load must bring (the one already there when another load is starting),
  or "" when there is nothing to load.

  The token lives in the hash being loaded: a flush, or a commit the store had to skip while
  not loaded (post, sync), removes or fences it, and the load that follows is refused as stale.
  The caller reads its PostgreSQL snapshot only after this returns.
]=]
local req = cjson.decode(ARGV[1])
check(type(req.tok) == 'string' and req.tok ~= '', 'tok is required')
check(type(req.per) == 'string', 'per is required')
local K
if req.per == '' then
  if redis.call('HGET', S, 'loaded') == '1' then return '' end
  K = S
else
  local gen = redis.call('HGET', S, 'gen')
  if not gen then return '' end
  K = key('p:' .. req.per)
  if redis.call('HGET', K, 'loaded') == '1' and redis.call('HGET', K, 'gen') == gen then return '' end
end
redis.call('HSETNX', K, 'ld', req.tok)
-- A hash that only marks a load in progress (or a fence) must not outlive its purpose.
if redis.call('PTTL', K) == -1 and redis.call('HGET', K, 'loaded') ~= '1' then redis.call('PEXPIRE', K, 86400000) end
return redis.call('HGET', K, 'ld')
