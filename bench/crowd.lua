-- Many agents pushing at a steady rate through wrk: each request is the next agent's push, with its
-- own token and a timestamp one interval after its previous one, sent with Connection: close as the
-- agent sends its last push before a wait. Pre-built bodies; wrk paces with delay(), counts answers
-- in response() and prints one JSON line in done().
--   wrk -t1 -c64 -d300s --timeout 10s -s bench/crowd.lua http://127.0.0.1:PORT -- AGENTS_FILE INTERVAL FIRST_TS [ROUNDS]
-- AGENTS_FILE: one agent a line, "agent_id<TAB>token<TAB>body before the timestamp<TAB>body after".
-- ROUNDS: send at most that many pushes of each agent, then nothing until wrk stops (default: no limit).

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } crowd_timespec;
int clock_gettime(int clock_id, crowd_timespec *tp);
]]
local clock = ffi.new("crowd_timespec")

local function now()
  ffi.C.clock_gettime(1, clock) -- CLOCK_MONOTONIC
  return tonumber(clock.tv_sec) + tonumber(clock.tv_nsec) / 1e9
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

local agents, interval, first_ts, rate, started, most = {}, 15, 0, 1, 0, 0
sent, ok, other, slots = 0, 0, 0, 0

function init(args)
  interval, first_ts, most = tonumber(args[2]), tonumber(args[3]), tonumber(args[4] or "0")
  for line in io.lines(args[1]) do
    local id, token, before, after = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)$")
    table.insert(agents, {path = "/api/v1/agents/" .. id .. "/push", before = before, after = after,
                          headers = {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json",
                                     ["Connection"] = "close"}})
  end
  rate = #agents / interval
  most = most * #agents
  started = now()
end

function delay()
  -- Slot k is due k / rate seconds after the start, whatever came before: a slow answer does not
  -- slow the pushes due after it (they catch up on the other connections).
  if most > 0 and slots >= most then return 100000000 end -- every round sent: idle until wrk stops
  local due = started + slots / rate
  slots = slots + 1
  local wait = (due - now()) * 1000
  if wait < 1 then return 0 end
  return math.floor(wait)
end

function request()
  local n = #agents
  local agent = agents[sent % n + 1]
  local stamp = os.date("!%Y-%m-%dT%H:%M:%SZ", first_ts + math.floor(sent / n) * interval)
  sent = sent + 1
  return wrk.format("POST", agent.path, agent.headers, agent.before .. stamp .. agent.after)
end

function response(status, headers, body)
  if status == 200 then ok = ok + 1 else other = other + 1 end
end

function done(summary, latency, requests)
  local total_sent, total_ok, total_other = 0, 0, 0
  for _, thread in ipairs(threads) do
    total_sent = total_sent + thread:get("sent")
    total_ok = total_ok + thread:get("ok")
    total_other = total_other + thread:get("other")
  end
  local e = summary.errors
  io.write(string.format(
    '{"sent": %d, "ok": %d, "not_ok": %d, "completed": %d, "connect_errors": %d, "read_errors": %d, ' ..
    '"write_errors": %d, "timeouts": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "p999_us": %d, ' ..
    '"max_us": %d, "duration_us": %d}\n',
    total_sent, total_ok, total_other, summary.requests, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, summary.duration))
end
