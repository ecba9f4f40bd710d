-- wrk script: POST /v1/tokens on livegate's private API over keep-alive
-- connections, as a backend minting a token per page render would.
-- The bearer key comes from the environment (LIVEGATE_API_KEY).
local key = os.getenv("LIVEGATE_API_KEY")
if not key then error("LIVEGATE_API_KEY is not set") end
wrk.method = "POST"
wrk.body = '{"channels":["todos"]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. key
