-- wrk script for scripts/bench-me: every request is the authenticated `me` query, so the
-- run measures the edge's bearer-token check (EdDSA verify) plus one user lookup.
-- The access token comes from the environment (RIALTO_BENCH_TOKEN), set by bench-me.
local token = os.getenv("RIALTO_BENCH_TOKEN")
if token == nil or token == "" then
  error("RIALTO_BENCH_TOKEN is not set; run this through scripts/bench-me")
end

wrk.method = "POST"
wrk.path = "/graphql"
wrk.body = '{"query":"{ me { id email displayName } }"}'
wrk.headers["content-type"] = "application/json"
wrk.headers["authorization"] = "Bearer " .. token
