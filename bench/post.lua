-- wrk: POST a small JSON body (the webhook input the benchmark workflows read as input.body.n).
wrk.method = "POST"
wrk.body = '{"n": "bench"}'
wrk.headers["Content-Type"] = "application/json"
