-- wrk script for bench_replies: POSTs pre-signed requests from a file, one line each
-- ("<signature>\t<urlencoded body>"), thread t taking lines t, t+T, t+2T ... so no two
-- threads send the same MessageSid; prints a JSON summary at the end.
local counter = 1
local threads = {}

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

function init(args)
  path = args[1]
  file = args[2]
  nthreads = tonumber(args[3])
  pause = tonumber(args[4] or "0")  -- ms each connection waits between requests (paced run)
  lines = {}
  if file ~= "-" then
    for line in io.lines(file) do
      local tab = line:find("\t")
      table.insert(lines, {line:sub(1, tab - 1), line:sub(tab + 1)})
    end
  end
  idx = id
  wrapped = 0
  non200 = 0
end

function request()
  if #lines == 0 then
    return wrk.format("POST", path, {["Content-Type"] = "application/x-www-form-urlencoded"}, "x=1")
  end
  if idx > #lines then
    idx = id
    wrapped = wrapped + 1
  end
  local item = lines[idx]
  idx = idx + nthreads
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["X-Twilio-Signature"] = item[1],
  }, item[2])
end

function delay()
  return pause
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
  end
end

function done(summary, latency, requests)
  local bad, wraps = 0, 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("non200")
    wraps = wraps + thread:get("wrapped")
  end
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "non200": %d, ' ..
    '"socket_errors": %d, "wrapped": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    bad, summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout, wraps))
end
