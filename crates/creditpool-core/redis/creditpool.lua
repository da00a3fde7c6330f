-- creditpool: the pool's operations, run atomically inside Redis.
--
-- This file is the body of one script. The core (crate creditpool-core,
-- module `redis`) ships it unchanged in two forms: an EVAL/EVALSHA script
-- (the body plus `return dispatch(KEYS, ARGV)`) and a Redis 7 Functions
-- library (`#!lua name=...` plus a `redis.register_function` line). Every
-- binding sends it as the core builds it; nothing here is to be edited by a
-- binding. The rules are those of the core's in-memory pool
-- (crates/creditpool-core/src/pool/), ported line by line: keep them in step.
--
-- Arithmetic. Redis runs Lua 5.1, whose numbers are doubles: integers are
-- exact up to 2^53 - 1. The core refuses larger amounts before they reach
-- this script (see `redis::MAX_AMOUNT`), and every product that could pass
-- 2^53 (a GCRA cost, a share cap, a threshold check, the burn-rate
-- projection) is computed exactly with 24-bit limbs (`mul6`, `muldivmod`,
-- `cmp_prod`). Counters are written back as integers.
--
-- Keys (all in one hash slot, `cp:{name}:...`; the core builds them):
--   1 cfg     hash  the configuration (`json`, and the fields the rules read)
--   2 st      hash  the pool's state (limit, cycle, totals, counters, fired)
--   3 open    hash  id -> "agent:amount:created:expires:idempotency-key"
--   4 lease   zset  id scored by its lease end
--   5 xp      hash  id -> "agent:amount:expired_at:1" (late-settle window;
--                   the ":1": the expiry counted the amount as settled,
--                   absent in records written before that rule)
--   6 xq      zset  id scored by its expiry (for the window's purge)
--   7 ag      hash  agents: "cnt", "i:<name>", "n:<i>", "j:<i>" (JSON name),
--                   "<i>:s|r|lr|ct|cr|qt|qr|req|ref"
--   8 pol     hash  agent name -> policy "capkind,capval,weight,cpm,rpm"
--   9 md      hash  per model: "c:|n:|ti:|to:|t5:|t1:|tr:|tw:" .. name
--  10 tl      hash  per tool: "d:|u:|r:|dn:" .. name
--  11 se      hash  series: "c:<start>", "n:<start>"
--  12 hi      list  closed cycles (JSON)
--  13 idem    hash  reserve idempotency key -> reservation id
--  14 ledger  stream  ledger entries (field "entry": the JSON entry)
--  15 outbox  stream  alerts (fields of the alert)
-- A thread operation (thread_record, thread_lookup) receives two more:
--  16 thz     zset  the book of message threads: message ID scored by its
--                   entry's deadline (capped: the first to expire goes first)
--  17 th:<id> string the entry of one message ID,
--                   "input_tokens,cache_write,cache_write_1h,may_overshoot,expires_at",
--                   expiring (PEXPIREAT, on the server clock) at its deadline

local PERIOD = 60000
local DAY = 86400000
local LIMB = 16777216
local POW = { [0] = 1 }
for i = 1, 24 do POW[i] = POW[i - 1] * 2 end

local K, C, S = nil, nil, nil
local AG, AG_DIRTY = {}, {}
local S_DIRTY = false

-- An integer as decimal text. '%d' (a C long) is exact for every integer
-- below 2^63 and much cheaper than '%.0f' (glibc formats a double with
-- multi-precision arithmetic); '%.0f' stays for anything beyond.
local function fmt(n)
  if n > -1e18 and n < 1e18 then return string.format('%d', n) end
  return string.format('%.0f', n)
end

-- Exact floor division for integers below 2^53 (b > 0).
local function idiv(a, b)
  local q = math.floor(a / b)
  local r = a - q * b
  while r < 0 do q = q - 1; r = r + b end
  while r >= b do q = q + 1; r = r - b end
  return q, r
end

local function limbs3(x)
  local t = {}
  for i = 1, 3 do
    local q, r = idiv(x, LIMB)
    t[i] = r
    x = q
  end
  return t
end

-- a * b (both below 2^72) as 7 limbs of 24 bits, least significant first.
local function mul6(a, b)
  local x, y = limbs3(a), limbs3(b)
  local p = { 0, 0, 0, 0, 0, 0, 0 }
  for i = 1, 3 do
    for j = 1, 3 do p[i + j - 1] = p[i + j - 1] + x[i] * y[j] end
  end
  for i = 1, 6 do
    local c, r = idiv(p[i], LIMB)
    p[i] = r
    p[i + 1] = p[i + 1] + c
  end
  return p
end

-- The sign of a*b - c*d, exactly.
local function cmp_prod(a, b, c, d)
  local x, y = mul6(a, b), mul6(c, d)
  for i = 7, 1, -1 do
    if x[i] ~= y[i] then return x[i] > y[i] and 1 or -1 end
  end
  return 0
end

-- floor(a*b / c) and (a*b) mod c, exactly (c below 2^53; the quotient is
-- exact below 2^53).
local function muldivmod(a, b, c)
  local p = mul6(a, b)
  local q, r = 0, 0
  for i = 7, 1, -1 do
    local limb = p[i]
    for bit = 23, 0, -1 do
      local hb = math.floor(limb / POW[bit]) % 2
      local d = c - r
      if r + hb >= d then
        r = r - d + hb
        q = q * 2 + 1
      else
        r = r * 2 + hb
        q = q * 2
      end
    end
  end
  return q, r
end

local function split(s, sep)
  local out = {}
  local from = 1
  while true do
    local at = string.find(s, sep, from, true)
    if not at then
      out[#out + 1] = string.sub(s, from)
      return out
    end
    out[#out + 1] = string.sub(s, from, at - 1)
    from = at + #sep
  end
end

-- ----- calendar (crate::time, crate::pool::cycle) -----

local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

local function civil_from_days(days)
  local z = days + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local day = doy - math.floor((153 * mp + 2) / 5) + 1
  local month = mp < 10 and mp + 3 or mp - 9
  local year = yoe + era * 400 + ((month <= 2) and 1 or 0)
  return year, month, day
end

local function days_in_month(y, m)
  if m == 2 then
    if (y % 4 == 0 and y % 100 ~= 0) or y % 400 == 0 then return 29 end
    return 28
  end
  if m == 4 or m == 6 or m == 9 or m == 11 then return 30 end
  return 31
end

local function anchor_ms(y, m, a)
  local dim = days_in_month(y, m)
  local d = a
  if d < 1 then d = 1 end
  if d > dim then d = dim end
  return days_from_civil(y, m, d) * DAY
end

local function clamp0(x) if x < 0 then return 0 end return x end

local function bounds_at(now)
  local spec = split(C.cyc, ':')
  if spec[1] == 'm' then
    local a = tonumber(spec[2])
    local days = idiv(now, DAY)
    local y, m = civil_from_days(days)
    local start = anchor_ms(y, m, a)
    if now < start then
      if m <= 1 then y, m = y - 1, 12 else m = m - 1 end
      start = anchor_ms(y, m, a)
    end
    local ny, nm = y, m + 1
    if nm > 12 then ny, nm = y + 1, 1 end
    return clamp0(start), clamp0(anchor_ms(ny, nm, a))
  end
  local s0, len = tonumber(spec[2]), tonumber(spec[3])
  if len < 1 then len = 1 end
  local k = idiv(now - s0, len)
  local start = s0 + k * len
  return clamp0(start), clamp0(start + len)
end

-- ----- state and agents -----

local ST_FIELDS = { 'limit', 'cs', 'ce', 'settled', 'reserved', 'overrun', 'next_id', 'next_seq', 'last_now', 'fs', 'fc', 'fp', 'requests', 'conv' }

local function load_hash(key)
  local flat = redis.call('HGETALL', key)
  local t = {}
  for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
  return t
end

-- The configuration fields the rules read (its JSON, possibly large, is
-- read only by init and report).
local CFG_FIELDS = { 'pool_id', 'lease', 'late', 'thr', 'oc', 'burn', 'unknown', 'cyc', 'bucket', 'default', 'jump' }

local function load_cfg()
  local v = redis.call('HMGET', K[1], unpack(CFG_FIELDS))
  local t = {}
  for i, f in ipairs(CFG_FIELDS) do
    if v[i] then t[f] = v[i] end
  end
  return t
end

-- The state as loaded (S0) and as the operation leaves it (S): only the
-- fields that changed are written back (a missing field reads as 0).
local S0 = {}

local function load_state()
  local raw = load_hash(K[2])
  S, S0 = {}, {}
  for _, f in ipairs(ST_FIELDS) do
    local v = tonumber(raw[f] or '0')
    S[f], S0[f] = v, v
  end
end

local function save_state()
  if not S_DIRTY then return end
  local args = {}
  for _, f in ipairs(ST_FIELDS) do
    if S[f] ~= S0[f] then
      args[#args + 1] = f
      args[#args + 1] = fmt(S[f])
    end
  end
  if #args > 0 then redis.call('HSET', K[2], unpack(args)) end
end

local AG_FIELDS = { 's', 'r', 'lr', 'ct', 'cr', 'qt', 'qr', 'req', 'ref' }

local function agent(i)
  local a = AG[i]
  if a then return a end
  local f = {}
  -- (the index as text once: Lua's own number-to-text is a float format)
  local is = fmt(i)
  for n, name in ipairs(AG_FIELDS) do f[n] = is .. ':' .. name end
  f[#f + 1] = 'n:' .. is
  f[#f + 1] = 'j:' .. is
  local v = redis.call('HMGET', K[7], unpack(f))
  a = { i = i, is = is, was = {} }
  for n, name in ipairs(AG_FIELDS) do
    if name == 'lr' then
      a.lr = v[n] and tonumber(v[n]) or nil
    else
      a[name] = tonumber(v[n] or '0')
    end
    a.was[name] = a[name]
  end
  a.name = v[#AG_FIELDS + 1]
  a.json = v[#AG_FIELDS + 2]
  AG[i] = a
  return a
end

local function touch(a) AG_DIRTY[a.i] = true end

local function save_agents()
  local args = {}
  for i, _ in pairs(AG_DIRTY) do
    local a = AG[i]
    for _, name in ipairs(AG_FIELDS) do
      -- only what changed (a missing field reads as 0, `lr` as none)
      if a[name] ~= a.was[name] and not (name == 'lr' and a.lr == nil) then
        args[#args + 1] = a.is .. ':' .. name
        args[#args + 1] = fmt(a[name])
      end
    end
  end
  if #args > 0 then redis.call('HSET', K[7], unpack(args)) end
end

local function agent_count() return tonumber(redis.call('HGET', K[7], 'cnt') or '0') end

local function find_agent(name)
  local i = redis.call('HGET', K[7], 'i:' .. name)
  if i then return tonumber(i) end
  return nil
end

local function add_agent(name, json)
  local i = agent_count()
  redis.call('HSET', K[7], 'cnt', i + 1, 'i:' .. name, i, 'n:' .. i, name, 'j:' .. i, json)
  return i
end

-- A policy: { cap_kind = 'a'|'s'|nil, cap = n, weight = n, cpm = n|nil, rpm = n|nil }.
local function parse_policy(s)
  local f = split(s, ',')
  local p = { weight = tonumber(f[3]) or 1 }
  if f[1] ~= '' then p.cap_kind = f[1]; p.cap = tonumber(f[2]) end
  if f[4] ~= '' then p.cpm = tonumber(f[4]) end
  if f[5] ~= '' then p.rpm = tonumber(f[5]) end
  return p
end

local function policy_string(name)
  return redis.call('HGET', K[8], name) or C.default
end

local function policy_of(name) return parse_policy(policy_string(name)) end

local function cap_amount(p, limit)
  if p.cap_kind == 'a' then return p.cap end
  local q = muldivmod(limit, p.cap, 10000)
  return q
end

-- ----- GCRA (crate::pool::gcra), state as (tat_ms, tat_rem) -----

local function add_pair(t, r, dt, dr, rate)
  if r >= rate - dr then return t + dt + 1, r - (rate - dr) end
  return t + dt, r + dr
end

-- A theoretical arrival time beyond 2^53 - 1 ms (285,000 years: a request
-- many times larger than a tiny rate) is held at that bound, so that it
-- stays an exact integer.
local MAX_MS = 9007199254740991

local function gcra_check(tt, tr, units, now, rate)
  local cq, cr = muldivmod(units, PERIOD, rate)
  if cq >= MAX_MS - now then cq, cr = MAX_MS - now - PERIOD, 0 end
  local bt, br = now, 0
  if tt > now or (tt == now and tr > 0) then bt, br = tt, tr end
  local nt, nr = add_pair(bt, br, cq, cr, rate)
  if nt >= MAX_MS then nt, nr = MAX_MS, 0 end
  local lim = now + PERIOD
  if nt < lim or (nt == lim and nr == 0) or tt < now or (tt == now and tr == 0) then
    return true, nt, nr
  end
  local rt, rr
  if units <= rate then
    rt, rr = add_pair(tt, tr, cq, cr, rate)
    rt = rt - PERIOD
  else
    rt, rr = tt, tr
  end
  local retry = rt
  if rr > 0 then retry = retry + 1 end
  if retry > MAX_MS then retry = MAX_MS end
  if retry < now + 1 then retry = now + 1 end
  return false, retry
end

local function gcra_refund(tt, tr, units, now, rate)
  local cq, cr = muldivmod(units, PERIOD, rate)
  local t, r = tt - cq, tr - cr
  if r < 0 then r = r + rate; t = t - 1 end
  if t < now or (t == now and r < 0) then return now, 0 end
  return t, r
end

local function refund_credits(a, amount, now)
  if amount == 0 then return end
  local p = policy_of(a.name)
  if p.cpm then
    a.ct, a.cr = gcra_refund(a.ct, a.cr, amount, now, p.cpm)
    touch(a)
  end
end

-- ----- outputs: ledger and alerts -----

local function push_ledger(body)
  local seq = S.next_seq
  S.next_seq = seq + 1
  local entry = '{"seq":' .. fmt(seq) .. ',' .. body
  redis.call('XADD', K[14], '*', 'seq', fmt(seq), 'entry', entry)
  return seq
end

local function closing_body(kind, id, a, amount, at)
  return '"at_ms":' .. fmt(at) .. ',"kind":"' .. kind .. '","reservation_id":' .. fmt(id) ..
    ',"agent":' .. a.json .. ',"cycle_start_ms":' .. fmt(S.cs) .. ',"reserved":' .. fmt(amount) ..
    ',"cost":0,"refunded":' .. fmt(amount) .. ',"overrun":0,"late":false}'
end

local function alert(kind, field, value, now)
  redis.call('XADD', K[15], '*', 'pool_id', C.pool_id, 'alert', kind, field, fmt(value),
    'occurred_at_ms', fmt(now), 'cycle_start_ms', fmt(S.cs), 'cycle_end_ms', fmt(S.ce),
    'limit', fmt(S.limit), 'settled', fmt(S.settled), 'reserved', fmt(S.reserved))
end

-- Whether amount reached p % of limit: amount * 100 >= p * limit, exactly.
-- The double products (relative error below 2^-52) decide when they are
-- more than a millionth apart; the exact comparison only near the boundary.
local function reached(amount, limit, p)
  if amount <= 0 then return false end
  local x, y = amount * 100, p * limit
  if x < y * 0.999999 then return false end
  if x > y * 1.000001 then return true end
  return cmp_prod(amount, 100, p, limit) >= 0
end

local function check_thresholds(now)
  local th = {}
  if C.thr ~= '' then th = split(C.thr, ',') end
  while true do
    local p = th[S.fs + 1]
    if not p or not reached(S.settled, S.limit, tonumber(p)) then break end
    S.fs = S.fs + 1
    alert('threshold', 'percent', tonumber(p), now)
  end
  if C.oc ~= '1' then return end
  while true do
    local p = th[S.fc + 1]
    if not p or not reached(S.settled + S.reserved, S.limit, tonumber(p)) then break end
    S.fc = S.fc + 1
    alert('committed_threshold', 'percent', tonumber(p), now)
  end
end

local function check_projection(now)
  if C.burn == '' or S.fp == 1 then return end
  local settled, limit = S.settled, S.limit
  if settled == 0 or settled >= limit then return end
  local elapsed = now - S.cs
  if elapsed < 0 then elapsed = 0 end
  if elapsed == 0 or elapsed < tonumber(C.burn) then return end
  local more = muldivmod(limit - settled, elapsed, settled)
  local at = now + more
  if at < S.ce then
    S.fp = 1
    alert('projected_exhaustion', 'at_ms', at, now)
  end
end

-- ----- time passing (crate::pool::expiry) -----

local function unhold(a, amount)
  S.reserved = S.reserved - amount
  a.r = a.r - amount
  touch(a)
end

local function parse_open(rec)
  local ag, amt, created, exp, key = string.match(rec, '^(%d+):(%d+):(%d+):(%d+):(.*)$')
  return tonumber(ag), tonumber(amt), tonumber(created), tonumber(exp), key
end

local function close_open(id, key)
  redis.call('HDEL', K[3], id)
  redis.call('ZREM', K[4], id)
  if key ~= nil and key ~= '' then redis.call('HDEL', K[13], key) end
end

-- The report's series: cost (and requests) into the bucket of time t; a
-- time before the cycle's start (a lease that ended in a cycle the clock
-- skipped, counted now) goes to the first bucket, as the core's saturating
-- arithmetic puts it.
local function add_series(t, cost, n)
  local w = tonumber(C.bucket)
  if w < 1 then w = 1 end
  local start = S.cs + idiv(clamp0(t - S.cs), w) * w
  redis.call('HINCRBY', K[11], 'c:' .. fmt(start), fmt(cost))
  if n > 0 then redis.call('HINCRBY', K[11], 'n:' .. fmt(start), n) end
end

local function expire_due(upto, out)
  local due = redis.call('ZRANGEBYSCORE', K[4], '-inf', fmt(upto), 'WITHSCORES')
  if #due == 0 then return end
  local list = {}
  for i = 1, #due, 2 do list[#list + 1] = { id = tonumber(due[i]), t = tonumber(due[i + 1]) } end
  table.sort(list, function(x, y)
    if x.t ~= y.t then return x.t < y.t end
    return x.id < y.id
  end)
  for _, e in ipairs(list) do
    local rec = redis.call('HGET', K[3], fmt(e.id))
    if rec then
      local ai, amount, _, _, key = parse_open(rec)
      close_open(fmt(e.id), key)
      local a = agent(ai)
      unhold(a, amount)
      -- Its request may have been billed and its cost is unknown: the
      -- amount (the worst case) counts as settled, flagged estimated
      -- (crate::pool::expiry, count_expired).
      S.settled = S.settled + amount
      a.s = a.s + amount
      S.requests = S.requests + 1
      a.req = a.req + 1
      add_series(e.t, amount, 1)
      S.conv = S.conv + amount
      redis.call('HSET', K[5], fmt(e.id), ai .. ':' .. fmt(amount) .. ':' .. fmt(e.t) .. ':1')
      redis.call('ZADD', K[6], fmt(e.t), fmt(e.id))
      push_ledger('"at_ms":' .. fmt(e.t) .. ',"kind":"expire","reservation_id":' .. fmt(e.id) ..
        ',"agent":' .. a.json .. ',"cycle_start_ms":' .. fmt(S.cs) .. ',"reserved":' .. fmt(amount) ..
        ',"cost":' .. fmt(amount) .. ',"refunded":0,"overrun":0,"late":false,"estimated":true}')
      check_thresholds(e.t)
      if out then out[#out + 1] = e.id end
    end
  end
end

local function rollover(ns, ne)
  local n = agent_count()
  local parts = {}
  for i = 0, n - 1 do
    local a = agent(i)
    if a.s ~= 0 then parts[#parts + 1] = '{"name":' .. a.json .. ',"cost":' .. fmt(a.s) .. '}' end
    a.s = 0
    a.req = 0
    a['ref'] = 0
    touch(a)
  end
  redis.call('RPUSH', K[12], '{"start_ms":' .. fmt(S.cs) .. ',"end_ms":' .. fmt(S.ce) .. ',"limit":' .. fmt(S.limit) ..
    ',"settled":' .. fmt(S.settled) .. ',"overrun":' .. fmt(S.overrun) .. ',"requests":' .. fmt(S.requests) ..
    ',"agents":[' .. table.concat(parts, ',') .. ']}')
  S.cs, S.ce = ns, ne
  S.settled, S.overrun = 0, 0
  S.fs, S.fc, S.fp = 0, 0, 0
  S.requests, S.conv = 0, 0
  redis.call('DEL', K[9], K[10], K[11])
end

local function advance(now, out)
  local rolled = false
  if now >= S.ce then
    local ns, ne = bounds_at(now)
    if ns > S.cs then
      expire_due(S.ce - 1, out)
      rollover(ns, ne)
      rolled = true
    end
  end
  expire_due(now, out)
  local window = tonumber(C.late)
  local old = redis.call('ZRANGEBYSCORE', K[6], '-inf', fmt(now - window))
  for _, id in ipairs(old) do
    redis.call('HDEL', K[5], id)
    redis.call('ZREM', K[6], id)
  end
  return rolled
end

-- The clock: the caller's `now_ms` in the given-clock mode, else the
-- server's TIME; never earlier than the latest time seen. A given time
-- further ahead than `max_clock_jump_ms` is, with `check` true, refused
-- (nil and the clock-jump error reply), with `check` 'clamp' taken as the
-- latest time seen (settle and release are never refused), with `check`
-- false accepted (advance_clock).
local function clock(arg, check)
  local now
  local given = arg ~= nil and arg ~= ''
  if given then
    now = tonumber(arg)
  else
    local t = redis.call('TIME')
    now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  local last = S.last_now
  if given and check and now - last > tonumber(C.jump) then
    if check == 'clamp' then
      now = last -- recorded at the latest time seen; the clock does not move
    else
      return nil, { 'error', 'clock_jump', now, last, tonumber(C.jump) }
    end
  end
  if now < last then now = last end
  S.last_now = now
  S_DIRTY = true
  return now
end

-- ----- operations -----

local OPS = {}

-- reserve: now, agent, agent_json, amount, lease_ms|'', idempotency key|''
OPS.reserve = function(args)
  local name, json, amount, lease, key = args[3], args[4], tonumber(args[5]), args[6], args[7]
  local now, err = clock(args[2], true)
  if not now then return err end
  advance(now, nil)
  if key ~= '' then
    local held = redis.call('HGET', K[13], key)
    if held then
      local rec = redis.call('HGET', K[3], held)
      if rec then
        local _, amt, _, exp = parse_open(rec)
        return { 'reserved', tonumber(held), amt, exp, 1 }
      end
    end
  end
  local i = find_agent(name)
  if i == nil then
    if C.unknown ~= '1' and not redis.call('HGET', K[8], name) then
      -- the named agents, for the core to list and to suggest the closest
      local r = { 'refused', 'unknown_agent', name }
      for _, n in ipairs(redis.call('HKEYS', K[8])) do r[#r + 1] = n end
      return r
    end
    i = add_agent(name, json)
  end
  local a = agent(i)
  local committed = S.settled + S.reserved
  if committed + amount > S.limit then
    local avail = S.limit - committed
    if avail < 0 then avail = 0 end
    a['ref'] = a['ref'] + 1; touch(a)
    return { 'refused', 'pool_exhausted', amount, avail }
  end
  local p = policy_of(name)
  if p.cap_kind then
    local cap = cap_amount(p, S.limit)
    if a.s + a.r + amount > cap then
      a['ref'] = a['ref'] + 1; touch(a)
      return { 'refused', 'agent_cap', a.name, cap, a.s, a.r, amount }
    end
  end
  local cok, ct, cr, rok, qt, qr = true, a.ct, a.cr, true, a.qt, a.qr
  if p.cpm then cok, ct, cr = gcra_check(a.ct, a.cr, amount, now, p.cpm) end
  if p.rpm then rok, qt, qr = gcra_check(a.qt, a.qr, 1, now, p.rpm) end
  if not (cok and rok) then
    local which, at
    if not cok and not rok and qt > ct then which, at = 'requests', qt
    elseif not cok then which, at = 'credits', ct
    else which, at = 'requests', qt end
    a['ref'] = a['ref'] + 1; touch(a)
    return { 'refused', 'rate_limited', a.name, which, at }
  end
  local id = S.next_id
  S.next_id = id + 1
  local l = tonumber(lease ~= '' and lease or C.lease)
  if l < 1 then l = 1 end
  local exp = now + l
  redis.call('HSET', K[3], fmt(id), a.is .. ':' .. fmt(amount) .. ':' .. fmt(now) .. ':' .. fmt(exp) .. ':' .. key)
  redis.call('ZADD', K[4], fmt(exp), fmt(id))
  if key ~= '' then redis.call('HSET', K[13], key, fmt(id)) end
  S.reserved = S.reserved + amount
  a.r = a.r + amount
  a.lr = now
  a.ct, a.cr, a.qt, a.qr = ct, cr, qt, qr
  touch(a)
  if C.oc == '1' then check_thresholds(now) end
  return { 'reserved', id, amount, exp, 0 }
end

-- The late settle of a reservation whose expiry counted its amount (est):
-- only the cost beyond it is added, as an overrun; the cost given is kept
-- as observed_cost, with the tail's model, IDs and tokens but no attribution
-- (crate::pool::settle, settle_counted_expiry).
local function settle_counted_expiry(now, id, a, est, cost, args)
  local over = cost - est
  if over < 0 then over = 0 end
  S.settled = S.settled + over
  S.overrun = S.overrun + over
  a.s = a.s + over
  touch(a)
  if over > 0 then
    add_series(now, over, 0)
    S.conv = S.conv + over
  end
  local tail = args[6]
  local cut = string.find(tail, ',"attribution":', 1, true)
  if cut then tail = string.sub(tail, 1, cut - 1) end
  local body = '"at_ms":' .. fmt(now) .. ',"kind":"settle","reservation_id":' .. fmt(id) .. ',"agent":' .. a.json ..
    ',"cycle_start_ms":' .. fmt(S.cs) .. ',"reserved":' .. fmt(est) .. ',"cost":' .. fmt(over) ..
    ',"refunded":0,"overrun":' .. fmt(over) .. ',"late":true' ..
    (args[5] == '1' and ',"estimated":true' or '') .. ',"observed_cost":' .. fmt(cost) .. tail .. '}'
  local seq = push_ledger(body)
  check_thresholds(now)
  check_projection(now)
  return { 'settled', id, est, over, 0, over, 1, seq }
end

-- settle: now, id, cost, estimated 0|1, ledger tail JSON, model|'',
--   tokens "i,o,w5,w1,r,ws", conversation part, then (tool, part, amount)*
OPS.settle = function(args)
  local now, err = clock(args[2], 'clamp')
  if not now then return err end
  advance(now, nil)
  local id, cost = tonumber(args[3]), tonumber(args[4])
  local sid = fmt(id)
  local rec = redis.call('HGET', K[3], sid)
  local a, reserved, late
  if rec then
    local ai, amount, _, _, key = parse_open(rec)
    close_open(sid, key)
    a = agent(ai)
    unhold(a, amount)
    reserved, late = amount, false
  else
    local x = redis.call('HGET', K[5], sid)
    if x then
      redis.call('HDEL', K[5], sid)
      redis.call('ZREM', K[6], sid)
      local f = split(x, ':')
      a = agent(tonumber(f[1]))
      if f[4] == '1' then return settle_counted_expiry(now, id, a, tonumber(f[2]), cost, args) end
      reserved, late = 0, true
    elseif id ~= 0 and id < S.next_id then
      return { 'duplicate', id }
    else
      return { 'error', 'unknown_reservation', id }
    end
  end
  local refunded = reserved - cost
  if refunded < 0 then refunded = 0 end
  local overrun = cost - reserved
  if overrun < 0 then overrun = 0 end
  S.settled = S.settled + cost
  S.overrun = S.overrun + overrun
  a.s = a.s + cost
  touch(a)
  if not late then refund_credits(a, refunded, now) end
  -- report statistics
  S.requests = S.requests + 1
  a.req = a.req + 1
  add_series(now, cost, 1)
  local model = args[7]
  if model == '' then
    S.conv = S.conv + cost
  else
    local tk = split(args[8], ',')
    redis.call('HINCRBY', K[9], 'c:' .. model, fmt(cost))
    redis.call('HINCRBY', K[9], 'n:' .. model, 1)
    local names = { 'ti:', 'to:', 't5:', 't1:', 'tr:', 'tw:' }
    for n, f in ipairs(names) do redis.call('HINCRBY', K[9], f .. model, tk[n]) end
    S.conv = S.conv + tonumber(args[9])
    local n = 10
    while args[n] do
      local tool, part, amt = args[n], args[n + 1], args[n + 2]
      redis.call('HINCRBY', K[10], part .. ':' .. tool, amt)
      if part == 'd' then redis.call('HINCRBY', K[10], 'dn:' .. tool, 1) end
      n = n + 3
    end
  end
  local body = '"at_ms":' .. fmt(now) .. ',"kind":"settle","reservation_id":' .. sid .. ',"agent":' .. a.json ..
    ',"cycle_start_ms":' .. fmt(S.cs) .. ',"reserved":' .. fmt(reserved) .. ',"cost":' .. fmt(cost) ..
    ',"refunded":' .. fmt(refunded) .. ',"overrun":' .. fmt(overrun) .. ',"late":' .. (late and 'true' or 'false') ..
    (args[5] == '1' and ',"estimated":true' or '') .. args[6] .. '}'
  local seq = push_ledger(body)
  check_thresholds(now)
  check_projection(now)
  return { 'settled', id, reserved, cost, refunded, overrun, late and 1 or 0, seq }
end

-- release: now, id
OPS.release = function(args)
  local now, err = clock(args[2], 'clamp')
  if not now then return err end
  advance(now, nil)
  local id = tonumber(args[3])
  local sid = fmt(id)
  local rec = redis.call('HGET', K[3], sid)
  if not rec then
    if redis.call('HGET', K[5], sid) then
      redis.call('HDEL', K[5], sid)
      redis.call('ZREM', K[6], sid)
      return { 'duplicate', id }
    end
    if id ~= 0 and id < S.next_id then return { 'duplicate', id } end
    return { 'error', 'unknown_reservation', id }
  end
  local ai, amount, _, _, key = parse_open(rec)
  close_open(sid, key)
  local a = agent(ai)
  unhold(a, amount)
  refund_credits(a, amount, now)
  local seq = push_ledger(closing_body('release', id, a, amount, now))
  return { 'released', id, amount, seq }
end

-- extend: now, id, lease_ms
OPS.extend = function(args)
  local now, err = clock(args[2], true)
  if not now then return err end
  advance(now, nil)
  local id = tonumber(args[3])
  local sid = fmt(id)
  local rec = redis.call('HGET', K[3], sid)
  if not rec then
    if id ~= 0 and id < S.next_id then return { 'closed', id } end
    return { 'error', 'unknown_reservation', id }
  end
  local ai, amount, created, exp, key = parse_open(rec)
  local l = tonumber(args[4])
  if l < 1 then l = 1 end
  local new = now + l
  if new > exp then
    exp = new
    redis.call('HSET', K[3], sid, ai .. ':' .. fmt(amount) .. ':' .. fmt(created) .. ':' .. fmt(exp) .. ':' .. key)
    redis.call('ZADD', K[4], fmt(exp), sid)
  end
  return { 'extended', id, amount, exp }
end

-- set_limit: now, limit
OPS.set_limit = function(args)
  local now, err = clock(args[2], true)
  if not now then return err end
  advance(now, nil)
  S.limit = tonumber(args[3])
  check_thresholds(now)
  return { 'ok' }
end

-- set_agent: now, agent, agent_json, policy string
OPS.set_agent = function(args)
  local now, err = clock(args[2], true)
  if not now then return err end
  advance(now, nil)
  local name, json, pol = args[3], args[4], args[5]
  local i = find_agent(name)
  if i == nil then i = add_agent(name, json) end
  local old, new = policy_of(name), parse_policy(pol)
  local a = agent(i)
  if old.cpm ~= new.cpm then a.cr = 0; touch(a) end
  if old.rpm ~= new.rpm then a.qr = 0; touch(a) end
  redis.call('HSET', K[8], name, pol)
  return { 'ok' }
end

local function tick(args, check)
  local now, err = clock(args[2], check)
  if not now then return err end
  local out = {}
  local rolled = advance(now, out)
  local r = { 'ticked', rolled and 1 or 0 }
  for _, id in ipairs(out) do r[#r + 1] = id end
  return r
end

OPS.tick = function(args) return tick(args, true) end
OPS.advance_clock = function(args) return tick(args, false) end

-- report: now. A read: nothing moves, not even the clock.
OPS.report = function(args)
  local now
  if args[2] ~= '' then
    now = tonumber(args[2])
  else
    local t = redis.call('TIME')
    now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  if now < S.last_now then now = S.last_now end
  return { 'report', now, redis.call('HGET', K[1], 'json'), redis.call('HGETALL', K[2]), redis.call('HGETALL', K[7]),
    redis.call('HGETALL', K[8]), redis.call('HGETALL', K[9]), redis.call('HGETALL', K[10]),
    redis.call('HGETALL', K[11]), redis.call('LRANGE', K[12], 0, -1), redis.call('HGETALL', K[3]),
    redis.call('HGETALL', K[5]) }
end

-- init: now, mode (join|update|read), then the configuration: json, pool_id,
--   lease, late, thresholds, on_committed, burn, unknown, cycle, bucket,
--   default policy, limit, clock jump, then (name, json name, policy)*
OPS.init = function(args)
  local mode = args[3]
  local existing = redis.call('HGET', K[1], 'json')
  if existing and (mode == 'read' or existing == args[4]) then return { 'joined', existing } end
  if existing and mode ~= 'update' then return { 'conflict', existing } end
  if not existing and mode == 'read' then return { 'missing' } end
  local names = { 'json', 'pool_id', 'lease', 'late', 'thr', 'oc', 'burn', 'unknown', 'cyc', 'bucket', 'default' }
  local cfg = {}
  for n, f in ipairs(names) do
    cfg[#cfg + 1] = f
    cfg[#cfg + 1] = args[3 + n]
  end
  cfg[#cfg + 1] = 'jump'
  cfg[#cfg + 1] = args[16]
  redis.call('HSET', K[1], unpack(cfg))
  C = load_cfg()
  local now
  if args[2] ~= '' then now = tonumber(args[2]) else
    local t = redis.call('TIME')
    now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  if not existing then
    S.limit = tonumber(args[15])
    S.cs, S.ce = bounds_at(now)
    S.next_id, S.next_seq, S.last_now = 1, 1, now
    S_DIRTY = true
  else
    S.limit = tonumber(args[15])
    S_DIRTY = true
    redis.call('DEL', K[8])
  end
  local n = 17
  while args[n] do
    local name, json, pol = args[n], args[n + 1], args[n + 2]
    local i = find_agent(name)
    if i == nil then i = add_agent(name, json) end
    redis.call('HSET', K[8], name, pol)
    n = n + 3
  end
  return { existing and 'updated' or 'created', args[4] }
end

-- ----- message threads (crate::pool::threads) -----
-- A cache of bounds, not books of money: the pool's clock does not move and
-- no state is written. The rules are those of the core's `ThreadTable`.

local THREAD_OPS = { thread_record = true, thread_lookup = true }

-- The time of a thread operation: the given now or the server's TIME,
-- never earlier than the latest time the pool saw.
local function thread_now(arg)
  local now
  if arg ~= '' then now = tonumber(arg) else
    local t = redis.call('TIME')
    now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  if now < S.last_now then now = S.last_now end
  return now
end

-- The entry's key for message `id` (KEYS[17] is the one of the operation).
local function thread_key(id) return string.sub(K[16], 1, -4) .. 'th:' .. id end

local function thread_forget(id)
  redis.call('ZREM', K[16], id)
  redis.call('DEL', thread_key(id))
end

-- An entry's deadline as a key expiry: on the server clock, the deadline
-- itself; with given times, the same time from now on the server's clock
-- (the deadline is also checked by the given time on every lookup).
local function thread_expire(key, exp, now, given)
  if given then redis.call('PEXPIRE', key, math.max(1, exp - now))
  else redis.call('PEXPIREAT', key, exp) end
end

-- The reply for an entry "input,cw,c1,ov[,ws,cb],deadline": the tools' facts
-- (web searches, container billed) follow a flag saying whether the entry
-- holds them (one recorded without them has five fields).
local function thread_reply(v, exp)
  local f = split(v, ',')
  if #f >= 7 then
    return { 'thread', f[1], tonumber(f[2]), tonumber(f[3]), tonumber(f[4]), exp, 1, f[5], tonumber(f[6]) }
  end
  return { 'thread', f[1], tonumber(f[2]), tonumber(f[3]), tonumber(f[4]), exp, 0, 0, 0 }
end

-- thread_record: now, message id, "input,cw,c1,ov[,ws,cb]", ttl_ms, cap
OPS.thread_record = function(args)
  local given = args[2] ~= ''
  local now = thread_now(args[2])
  local id, ttl, cap = args[3], tonumber(args[5]), tonumber(args[6])
  local exp = now + ttl
  for _, gone in ipairs(redis.call('ZRANGEBYSCORE', K[16], '-inf', now)) do thread_forget(gone) end
  thread_forget(id)
  local v = args[4] .. ',' .. fmt(exp)
  redis.call('SET', K[17], v)
  thread_expire(K[17], exp, now, given)
  redis.call('ZADD', K[16], exp, id)
  local over = redis.call('ZCARD', K[16]) - cap
  if over > 0 then
    for _, gone in ipairs(redis.call('ZRANGE', K[16], 0, over - 1)) do thread_forget(gone) end
  end
  local last = redis.call('ZRANGE', K[16], -1, -1, 'WITHSCORES')
  if last[2] then thread_expire(K[16], tonumber(last[2]), now, given) end
  if redis.call('EXISTS', K[17]) == 0 then return { 'no_thread', 0 } end
  return thread_reply(v, exp)
end

-- thread_lookup: now, message id
OPS.thread_lookup = function(args)
  local now = thread_now(args[2])
  local id = args[3]
  local exp = redis.call('ZSCORE', K[16], id)
  if not exp then return { 'no_thread', 0 } end
  exp = tonumber(exp)
  local v = redis.call('GET', K[17])
  if now >= exp or not v then
    thread_forget(id)
    return { 'no_thread', 1 }
  end
  return thread_reply(v, exp)
end

local function dispatch(keys, args)
  K = keys
  AG, AG_DIRTY, S_DIRTY = {}, {}, false
  local op = args[1]
  local h = OPS[op]
  if not h then return redis.error_reply('creditpool: unknown operation ' .. tostring(op)) end
  if #keys ~= (THREAD_OPS[op] and 17 or 15) then return redis.error_reply('creditpool: expected 15 keys (17 for a thread operation)') end
  C = load_cfg()
  if op ~= 'init' and not C.pool_id then return { 'error', 'pool_missing' } end
  load_state()
  if op ~= 'report' and op ~= 'init' and not THREAD_OPS[op] then S_DIRTY = true end
  local r = h(args)
  save_agents()
  save_state()
  return r
end
