-- wrk script for bench/run.sh. BENCH_MODE picks the request:
--   get      the URL as given (ceilings)
--   order    POST /api/orders, a random buy or sell with a random price
--   message  POST /api/rooms/$BENCH_ROOM/messages
--   read     GET the URL as given, with the bearer token (the chat's reads)
-- BENCH_TOKEN is a bearer token. done() prints one line of JSON for the harness to read.
local mode = os.getenv("BENCH_MODE") or "get"
local token = os.getenv("BENCH_TOKEN") or ""
local room = os.getenv("BENCH_ROOM") or "1"
local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }
local counter = 0

if mode == "read" then
    wrk.headers["Authorization"] = "Bearer " .. token
elseif mode == "order" then
    request = function()
        local side = math.random(2) == 1 and "buy" or "sell"
        local body = string.format('{"order":"%s","price":%d.%04d}', side, math.random(1, 500), math.random(0, 9999))
        return wrk.format("POST", "/api/orders", headers, body)
    end
elseif mode == "message" then
    request = function()
        counter = counter + 1
        return wrk.format("POST", "/api/rooms/" .. room .. "/messages", headers,
                          string.format('{"text":"benchmark message %d"}', counter))
    end
end

done = function(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        'BENCH_JSON {"requests":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,' ..
        '"status_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
        summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
        latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
