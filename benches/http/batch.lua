-- wrk script: POST /v1/check/batch with 100 checks per request.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
local checks = {}
for i = 1, 100 do
  checks[i] = string.format('{"permission":"miner:blink_led","path":["site:1","rack:1","miner:%d"]}', i)
end
wrk.body = '{"org":"acme","principal":"carol","checks":[' .. table.concat(checks, ",") .. ']}'
