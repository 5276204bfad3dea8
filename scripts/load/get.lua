-- GET /calculations/{id} of one stored calculation, as fast as the service answers.
-- Environment: TOKEN, CALC_ID.
local token = os.getenv("TOKEN")
local path = "/v1/thermaliq/calculations/" .. os.getenv("CALC_ID")

request = function()
  return wrk.format("GET", path, {["Authorization"] = "Bearer " .. token})
end

done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "RESULT get requests=%d non_2xx=%d requests_per_s=%.0f p95_ms=%.2f p99_ms=%.2f\n",
    summary.requests, summary.errors.status, summary.requests / seconds,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
