-- POST /calculate over one-hour windows of the demo day, each shifted by one more second so
-- that no two requests have the same inputs (no cache hits): every request aggregates
-- 12 tags x 3 600 readings (scripts/load.sh sets three of the demo's 15 inputs to constants),
-- runs the engineering core per unit and stores the result.
-- Environment: TOKEN, DAY_START (epoch seconds of the demo day).
local token = os.getenv("TOKEN")
local day_start = tonumber(os.getenv("DAY_START"))
local n = 0

local function rfc3339(t)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", t)
end

request = function()
  local start = day_start + 60 * (n % 1380) + math.floor(n / 1380)
  n = n + 1
  local body = string.format(
    '{"facility_id":"FAC-DEMO-001","time_period":{"start":"%s","end":"%s"}}',
    rfc3339(start), rfc3339(start + 3600))
  return wrk.format("POST", "/v1/thermaliq/calculate", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }, body)
end

response = function(status, headers, body)
  if status ~= 200 then
    io.stderr:write("calculate: HTTP " .. status .. " " .. body:sub(1, 300) .. "\n")
  end
end

done = function(summary, latency, requests)
  io.write(string.format(
    "RESULT calculate requests=%d errors=%d p50_ms=%.2f p95_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read
      + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
