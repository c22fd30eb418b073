-- wrk: as post.lua, one request every BENCH_DELAY_MS milliseconds per connection (a fixed rate).
wrk.method = "POST"
wrk.body = '{"n": "paced"}'
wrk.headers["Content-Type"] = "application/json"
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "20")

function delay()
   return pause
end
