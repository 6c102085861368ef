-- wrk script for bench/visits.py and bench/dashboards.py: each wrk thread is one signed-in
-- user, posting new visits (a fresh client_uuid each) with its session cookie and CSRF
-- token, or (POST false) fetching a page with its session cookie. bench/visits.py fills in the values marked
-- @...@ and reads the line starting with WRK_RESULT.
local sessions = @SESSIONS@
local PATH = "@PATH@"
local RUN = "@RUN@"
local DATE = "@DATE@"
local EXPECTED = @EXPECTED@
local POST = @POST@
local threads = {}
local started = 0

function setup(thread)
  started = started + 1
  thread:set("tid", started)
  table.insert(threads, thread)
end

function init(args)
  session = sessions[((tid - 1) % #sessions) + 1]
  sent, bad, first_bad = 0, 0, ""
  headers = {
    ["Content-Type"] = "application/json",
    ["Cookie"] = session.cookie,
    ["X-CSRFToken"] = session.csrf or "",
  }
end

function request()
  if not POST then
    return wrk.format("GET", PATH, {["Cookie"] = session.cookie})
  end
  sent = sent + 1
  -- unique per run, thread and request; a valid version-4 UUID
  local id = string.format("%08x-%s-4000-8000-%012x", tid, RUN, sent)
  local body = string.format(
    '{"client_uuid":"%s","village":%d,"date":"%s","day_part":"full",' ..
    '"activities":["meeting","household"],"meetings":1,"people_reached":12,' ..
    '"households_visited":3,"notes":"召开座谈会，入户走访。",' ..
    '"latitude":"34.021000","longitude":"113.821000"}',
    id, session.village, DATE)
  return wrk.format("POST", PATH, headers, body)
end

function response(status, headers, body)
  if status ~= EXPECTED then
    bad = bad + 1
    if first_bad == "" then first_bad = status .. " " .. string.sub(body, 1, 200) end
  end
end

function done(summary, latency, requests)
  local bad_total, first = 0, ""
  for _, t in ipairs(threads) do
    bad_total = bad_total + t:get("bad")
    if first == "" then first = t:get("first_bad") end
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"bad": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    bad_total, e.connect + e.read + e.write + e.timeout))
  io.write("WRK_FIRST " .. first .. "\n")
end
