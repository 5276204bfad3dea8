-- POST /facilities/FAC-DEMO-001/readings with JSON batches of 10 000 new readings (12 tags x
-- 833 s each, on a day after the demo day), every batch different, so each request inserts.
-- Environment: TOKEN, INGEST_START (epoch seconds), BATCHES (distinct batches to prebuild).
local token = os.getenv("TOKEN")
local start = tonumber(os.getenv("INGEST_START"))
local batches = tonumber(os.getenv("BATCHES") or "200")
-- The 12 tags the facility meters once scripts/load.sh has set three inputs to constants.
local tags = {"FT-101", "FT-110", "PT-111", "TT-112", "AT-120", "TT-121", "AT-122", "TT-130",
  "FT-201", "AT-220", "TT-221", "JT-250"}
local per_batch = 10000
local stride = tonumber(os.getenv("WRK_THREADS") or "2")
local bodies = {}
local thread_index = 0
local threads = {}

setup = function(thread)
  thread:set("thread_index", thread_index)
  thread_index = thread_index + 1
  table.insert(threads, thread)
end

init = function(args)
  -- Each wrk thread builds its own share of distinct batches.
  local parts = {}
  local k = 0
  for b = thread_index, batches - 1, stride do
    local items = {}
    for i = 0, per_batch - 1 do
      local n = b * per_batch + i
      local t = start + math.floor(n / #tags)
      local tag = tags[(n % #tags) + 1]
      items[#items + 1] = string.format('{"time":"%s","tag":"%s","value":%.3f}',
        os.date("!%Y-%m-%dT%H:%M:%SZ", t), tag, 10 + (n % 97) * 0.5)
    end
    k = k + 1
    bodies[k] = '{"readings":[' .. table.concat(items, ",") .. ']}'
  end
  sent = 0
end

request = function()
  sent = sent + 1
  local body = bodies[((sent - 1) % #bodies) + 1]
  return wrk.format("POST", "/v1/thermaliq/facilities/FAC-DEMO-001/readings", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }, body)
end

response = function(status, headers, body)
  if status ~= 200 then
    io.stderr:write("ingest: HTTP " .. status .. " " .. body:sub(1, 300) .. "\n")
  end
end

done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "RESULT ingest requests=%d readings=%d seconds=%.2f readings_per_s=%.0f p95_ms=%.2f\n",
    summary.requests, summary.requests * per_batch, seconds,
    summary.requests * per_batch / seconds, latency:percentile(95) / 1000))
end
