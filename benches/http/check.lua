-- wrk script: POST /v1/check with keep-alive, one cached principal.
-- TOKEN comes from the environment (run.sh exports it).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
wrk.body = '{"org":"acme","principal":"carol","permission":"miner:blink_led","path":["site:1","rack:1","miner:1"]}'
