-- wrk script: GET a signed snapshot (built and signed per request).
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
wrk.path = "/v1/orgs/acme/snapshot?principal=carol"
