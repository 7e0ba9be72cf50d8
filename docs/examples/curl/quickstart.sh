#!/usr/bin/env bash
# Rialto from the shell: curl and jq only. The walk-through of docs/integrators.md, runnable:
# sign up, sign in, make an API key, read the markets and their rules, place an order,
# retry it idempotently, cancel it, take liquidity, and meet every error a trader meets.
#
#   RIALTO_URL=http://127.0.0.1:8080 docs/examples/curl/quickstart.sh
#
# Against `rialto serve --demo` it needs nothing else: it signs in as the demo trader
# alice (RIALTO_EMAIL / RIALTO_PASSWORD to use another funded account) and trades on
# ACME-USD (RIALTO_MARKET), whose book the demo's market maker keeps two-sided.
# Exits 0 with the line "quickstart: OK" at the end; non-zero, with the failing response,
# on anything unexpected.
set -euo pipefail

URL="${RIALTO_URL:-http://127.0.0.1:8080}"
URL="${URL%/}/graphql"
EMAIL="${RIALTO_EMAIL:-alice@demo.rialto.dev}"
PASSWORD="${RIALTO_PASSWORD:-alice trades tulips at dawn}"
MARKET="${RIALTO_MARKET:-ACME-USD}"
# One id per run, for this run's client order ids and key names.
RUN="$(date +%s)-$$"

command -v curl >/dev/null || { echo "quickstart: needs curl" >&2; exit 2; }
command -v jq >/dev/null || { echo "quickstart: needs jq (apt-get install jq)" >&2; exit 2; }

step() { printf '\n== %s\n' "$*"; }

# On the way out, even after a failure, revoke the keys this run made (an account has at most
# 25 active ones). Best effort: the server may be what failed.
KEYS_TO_REVOKE=()
ACCESS=""
cleanup() {
  local id
  for id in "${KEYS_TO_REVOKE[@]}"; do
    curl -sS --max-time 10 -o /dev/null "$URL" -H 'Content-Type: application/json' -H "Authorization: Bearer $ACCESS" \
      -d "$(jq -nc --arg id "$id" '{query: "mutation($id: ID!) { revokeApiKey(id: $id) { id } }", variables: {id: $id}}')" || true
  done
}
trap cleanup EXIT
fail() { echo "quickstart: FAILED: $*" >&2; exit 1; }

# gql QUERY [VARIABLES] [BEARER]: POSTs one operation; prints the JSON body. Fails on a
# transport error or a body that is not JSON. GraphQL errors come back in the body with
# HTTP 200 (ask for application/graphql-response+json to get 4xx for requests that could
# not run at all); only RATE_LIMITED is a 429, handled in the rate-limit step below.
gql() {
  local query="$1" variables="${2:-}" bearer="${3:-}" body
  [ -n "$variables" ] || variables='{}'
  local auth=()
  [ -z "$bearer" ] || auth=(-H "Authorization: Bearer $bearer")
  body="$(jq -nc --arg q "$query" --argjson v "$variables" '{query: $q, variables: $v}')"
  local out
  out="$(curl -sS --max-time 30 "$URL" -H 'Content-Type: application/json' "${auth[@]}" -d "$body")" ||
    fail "no answer from $URL"
  jq -e . >/dev/null 2>&1 <<<"$out" || fail "not JSON: $out"
  printf '%s\n' "$out"
}

# ok RESPONSE: the response must have no errors; prints its data.
ok() {
  [ -n "$1" ] || fail "no response"
  if jq -e '(.errors // []) | length > 0' >/dev/null <<<"$1"; then
    fail "unexpected error: $(jq -c '.errors' <<<"$1")"
  fi
  jq -c '.data' <<<"$1"
}

# refused RESPONSE CODE: the response must carry an error with extensions.code CODE.
refused() {
  local got
  [ -n "$1" ] || fail "no response"
  got="$(jq -r '.errors[0].extensions.code // "none"' <<<"$1")"
  [ "$got" = "$2" ] || fail "expected $2, got $got: $(jq -c . <<<"$1")"
  echo "  refused as expected: $2: $(jq -r '.errors[0].message' <<<"$1")"
}

# Decimal prices as integers of `scale` decimals, so no float ever touches money.
to_units() { # to_units 24.95 2 -> 2495
  local int="${1%%.*}" frac=""
  [[ "$1" == *.* ]] && frac="${1#*.}"
  while [ "${#frac}" -lt "$2" ]; do frac="${frac}0"; done
  echo $((10#${int}${frac:0:$2}))
}
from_units() { # from_units 2495 2 -> 24.95
  local n="$1" scale="$2"
  [ "$scale" -eq 0 ] && { echo "$n"; return; }
  while [ "${#n}" -le "$scale" ]; do n="0$n"; done
  echo "${n:0:${#n}-scale}.${n: -scale}"
}
decimals() { [[ "$1" == *.* ]] && { local f="${1#*.}"; echo "${#f}"; } || echo 0; }

ORDER_FIELDS='id clientOrderId status reason side type timeInForce postOnly price quantity filledQuantity averagePrice fills { tradeId price quantity fee feeAsset liquidity }'
PLACE="mutation Place(\$input: PlaceOrderInput!) { placeOrder(input: \$input) { $ORDER_FIELDS } }"
AUTH_PAYLOAD='accessToken refreshToken accessTokenExpiresAt user { id email role }'

step "1. sign up (a new account starts with no money)"
NEW_EMAIL="integrator-$RUN@example.com"
NEW_PASSWORD="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')-quickstart"
resp="$(gql "mutation(\$i: RegisterInput!) { register(input: \$i) { $AUTH_PAYLOAD } }" \
  "$(jq -nc --arg e "$NEW_EMAIL" --arg p "$NEW_PASSWORD" '{i: {email: $e, password: $p, displayName: "Quickstart"}}')")"
NEWCOMER="$(ok "$resp" | jq -r '.register.accessToken')"
echo "  registered $NEW_EMAIL"
resp="$(gql "mutation(\$i: RegisterInput!) { register(input: \$i) { user { id } } }" \
  "$(jq -nc --arg e "$NEW_EMAIL" --arg p "$NEW_PASSWORD" '{i: {email: $e, password: $p, displayName: "Again"}}')")"
refused "$resp" CONFLICT

step "2. sign in as $EMAIL: an access token (minutes) and a refresh token (days)"
resp="$(gql "mutation(\$i: LoginInput!) { login(input: \$i) { $AUTH_PAYLOAD } }" \
  "$(jq -nc --arg e "$EMAIL" --arg p "$PASSWORD" '{i: {email: $e, password: $p}}')")"
login="$(ok "$resp")"
ACCESS="$(jq -r '.login.accessToken' <<<"$login")"
REFRESH="$(jq -r '.login.refreshToken' <<<"$login")"
echo "  access token expires at $(jq -r '.login.accessTokenExpiresAt' <<<"$login")"
resp="$(gql "mutation(\$i: LoginInput!) { login(input: \$i) { accessToken } }" \
  "$(jq -nc --arg e "$EMAIL" '{i: {email: $e, password: "not the password"}}')")"
refused "$resp" UNAUTHENTICATED

step "3. refresh: the pair rotates; the old refresh token is spent"
resp="$(gql "mutation(\$t: String!) { refresh(refreshToken: \$t) { $AUTH_PAYLOAD } }" "$(jq -nc --arg t "$REFRESH" '{t: $t}')")"
rotated="$(ok "$resp")"
ACCESS="$(jq -r '.refresh.accessToken' <<<"$rotated")"
REFRESH="$(jq -r '.refresh.refreshToken' <<<"$rotated")"
echo "  new pair issued"

step "4. an API key for the bot (READ and TRADE); its secret is shown only now"
resp="$(gql "mutation(\$n: String!) { createApiKey(name: \$n, scopes: [READ, TRADE]) { secret apiKey { id prefix scopes } } }" \
  "$(jq -nc --arg n "quickstart-$RUN" '{n: $n}')" "$ACCESS")"
created="$(ok "$resp")"
KEY="$(jq -r '.createApiKey.secret' <<<"$created")"
KEY_ID="$(jq -r '.createApiKey.apiKey.id' <<<"$created")"
KEYS_TO_REVOKE+=("$KEY_ID")
echo "  key $(jq -r '.createApiKey.apiKey.prefix' <<<"$created")… scopes $(jq -c '.createApiKey.apiKey.scopes' <<<"$created")"
resp="$(gql 'mutation { createApiKey(name: "from a key", scopes: [READ]) { secret } }' '' "$KEY")"
refused "$resp" FORBIDDEN # keys are managed with a signed-in session, not with a key

step "5. who am I, and what do I hold (with the key)"
resp="$(gql '{ me { email role } myBalances { asset { symbol } available held total } }' '' "$KEY")"
ok "$resp" | jq -r '"  " + .me.email + ": " + ([.myBalances[] | "\(.asset.symbol) \(.available) available, \(.held) held"] | join("; "))'

step "6. the markets and their rules"
resp="$(gql '{ markets { symbol status tickSize lotSize minQuantity makerFeeBps takerFeeBps base { symbol decimals } quote { symbol decimals } } }')"
markets="$(ok "$resp")"
jq -r '.markets[] | "  \(.symbol) \(.status): tick \(.tickSize), lot \(.lotSize), min \(.minQuantity), fees \(.makerFeeBps)/\(.takerFeeBps) bps maker/taker"' <<<"$markets"
rules="$(jq -c --arg m "$MARKET" '.markets[] | select(.symbol == $m)' <<<"$markets")"
[ -n "$rules" ] || fail "no market $MARKET"
[ "$(jq -r .status <<<"$rules")" = OPEN ] || fail "$MARKET is halted"
TICK="$(jq -r .tickSize <<<"$rules")"
LOT="$(jq -r .lotSize <<<"$rules")"
MIN="$(jq -r .minQuantity <<<"$rules")"
QTY="$MIN"
[ "$(to_units "$QTY" 9)" -ge "$(to_units "$LOT" 9)" ] || QTY="$LOT"

step "7. the book of $MARKET"
resp="$(gql 'query($m: String!) { market(symbol: $m) { orderBook(depth: 5) { sequence bids { price quantity orders } asks { price quantity orders } } } }' \
  "$(jq -nc --arg m "$MARKET" '{m: $m}')")"
book="$(ok "$resp" | jq -c '.market.orderBook')"
echo "  at sequence $(jq -r .sequence <<<"$book"):"
jq -r '"  bids " + ([.bids[] | "\(.quantity)@\(.price)"] | join(" ")) + "\n  asks " + ([.asks[] | "\(.quantity)@\(.price)"] | join(" "))' <<<"$book"
BEST_BID="$(jq -r '.bids[0].price // empty' <<<"$book")"
[ -n "$BEST_BID" ] || fail "$MARKET has no bids to price a resting order from (run against rialto serve --demo)"
SCALE="$(decimals "$TICK")"
for p in "$BEST_BID"; do [ "$(decimals "$p")" -le "$SCALE" ] || SCALE="$(decimals "$p")"; done
TICK_UNITS="$(to_units "$TICK" "$SCALE")"
# 3 % under the best bid, on a tick: it rests out of reach of the live demo's quotes (they
# drift at most 0.4 % a round), yet inside the price band around the last trade (10 %).
BID_UNITS="$(to_units "$BEST_BID" "$SCALE")"
PRICE="$(from_units $((BID_UNITS * 97 / 100 / TICK_UNITS * TICK_UNITS)) "$SCALE")"

step "8. place a GTC limit buy of $QTY at $PRICE, with a client order id"
CLIENT_ID="quickstart-$RUN-1"
input="$(jq -nc --arg m "$MARKET" --arg p "$PRICE" --arg q "$QTY" --arg c "$CLIENT_ID" \
  '{input: {market: $m, side: "BUY", type: "LIMIT", price: $p, quantity: $q, timeInForce: "GTC", clientOrderId: $c}}')"
placed="$(ok "$(gql "$PLACE" "$input" "$KEY")" | jq -c '.placeOrder')"
ORDER_ID="$(jq -r .id <<<"$placed")"
echo "  order $ORDER_ID: $(jq -r '.status' <<<"$placed")"
[ "$(jq -r .status <<<"$placed")" = OPEN ] || fail "expected OPEN: $placed"

step "9. the same request again (a retry after a lost answer): the first order comes back"
again="$(ok "$(gql "$PLACE" "$input" "$KEY")" | jq -c '.placeOrder')"
[ "$(jq -r .id <<<"$again")" = "$ORDER_ID" ] || fail "a retry made a second order: $again"
echo "  order $(jq -r .id <<<"$again") again, nothing new placed"

step "10. my open orders"
resp="$(gql 'query($m: String) { myOrders(market: $m, status: [OPEN, PARTIALLY_FILLED], first: 10) { edges { node { id clientOrderId side price quantity status } } pageInfo { hasNextPage endCursor } } }' \
  "$(jq -nc --arg m "$MARKET" '{m: $m}')" "$KEY")"
open="$(ok "$resp")"
jq -r '.myOrders.edges[].node | "  \(.id) \(.clientOrderId // "-") \(.side) \(.quantity)@\(.price) \(.status)"' <<<"$open"
jq -e --arg id "$ORDER_ID" '[.myOrders.edges[].node.id] | index($id) != null' >/dev/null <<<"$open" ||
  fail "order $ORDER_ID is not among my open orders"

step "11. cancel it; cancelling again is a CONFLICT (it is already done)"
cancelled="$(ok "$(gql 'mutation($id: ID!) { cancelOrder(id: $id) { id status reason } }' "$(jq -nc --arg id "$ORDER_ID" '{id: $id}')" "$KEY")")"
echo "  $(jq -r '.cancelOrder | "\(.id) \(.status) \(.reason)"' <<<"$cancelled")"
[ "$(jq -r .cancelOrder.status <<<"$cancelled")" = CANCELLED ] || fail "not cancelled: $cancelled"
refused "$(gql 'mutation($id: ID!) { cancelOrder(id: $id) { id } }' "$(jq -nc --arg id "$ORDER_ID" '{id: $id}')" "$KEY")" CONFLICT

step "12. take liquidity: a market sell of $QTY (IOC by nature)"
sold="$(ok "$(gql "$PLACE" "$(jq -nc --arg m "$MARKET" --arg q "$QTY" --arg c "quickstart-$RUN-2" \
  '{input: {market: $m, side: "SELL", type: "MARKET", quantity: $q, clientOrderId: $c}}')" "$KEY")" | jq -c '.placeOrder')"
echo "  $(jq -r '"\(.status) \(.filledQuantity) at \(.averagePrice // "-")" + ([.fills[] | ", fee \(.fee) \(.feeAsset) as \(.liquidity)"] | join(""))' <<<"$sold")"
case "$(jq -r .status <<<"$sold")" in
  FILLED | PARTIALLY_FILLED | CANCELLED) ;; # CANCELLED: no bids, the remainder expired (see reason)
  *) fail "unexpected status: $sold" ;;
esac

step "13. the errors a trader meets, each by its code"
off_tick="$(from_units $(($(to_units "$PRICE" "$((SCALE + 1))") + 1)) "$((SCALE + 1))")"
refused "$(gql "$PLACE" "$(jq -nc --arg m "$MARKET" --arg p "$off_tick" --arg q "$QTY" \
  '{input: {market: $m, side: "BUY", type: "LIMIT", price: $p, quantity: $q}}')" "$KEY")" BAD_USER_INPUT
refused "$(gql "$PLACE" "$(jq -nc --arg p "$PRICE" --arg q "$QTY" \
  '{input: {market: "NO-SUCH", side: "BUY", type: "LIMIT", price: $p, quantity: $q}}')" "$KEY")" NOT_FOUND
refused "$(gql "$PLACE" "$(jq -nc --arg m "$MARKET" --arg p "$PRICE" --arg q "$QTY" \
  '{input: {market: $m, side: "BUY", type: "LIMIT", price: $p, quantity: $q}}')" "$NEWCOMER")" INSUFFICIENT_FUNDS
refused "$(gql '{ myBalances { total } }')" UNAUTHENTICATED
resp="$(gql 'mutation($n: String!) { createApiKey(name: $n, scopes: [READ]) { secret apiKey { id } } }' "$(jq -nc --arg n "read-only-$RUN" '{n: $n}')" "$ACCESS")"
read_only="$(ok "$resp")"
READ_KEY="$(jq -r .createApiKey.secret <<<"$read_only")"
READ_KEY_ID="$(jq -r .createApiKey.apiKey.id <<<"$read_only")"
KEYS_TO_REVOKE+=("$READ_KEY_ID")
refused "$(gql "$PLACE" "$(jq -nc --arg m "$MARKET" --arg p "$PRICE" --arg q "$QTY" \
  '{input: {market: $m, side: "BUY", type: "LIMIT", price: $p, quantity: $q}}')" "$READ_KEY")" FORBIDDEN
ok "$(gql 'mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }' "$(jq -nc --arg id "$READ_KEY_ID" '{id: $id}')" "$ACCESS")" >/dev/null
refused "$(gql '{ myBalances { total } }' '' "$READ_KEY")" UNAUTHENTICATED # revoked: refused at once
echo "  (MARKET_HALTED needs a market an admin halted; INTERNAL carries extensions.requestId to quote)"

step "14. rate limits: 30 batches of 10 at once (300 requests) against a burst of 100"
# Sent in parallel, so that they arrive faster than the budget refills (50 a second).
batch="$(jq -nc '[range(10) | {query: "{ __typename }"}]')"
burst=()
for _ in $(seq 1 30); do burst+=(-o /dev/null "$URL"); done
limited=""
for _ in 1 2 3; do
  statuses="$(curl -sS --no-progress-meter --max-time 60 -Z --parallel-immediate --parallel-max 30 \
    -w '%{http_code} %header{retry-after}\n' \
    -H 'Content-Type: application/json' -H "Authorization: Bearer $KEY" -d "$batch" "${burst[@]}")" ||
    fail "the burst failed: $statuses"
  grep -qv '^\(200\|429\) ' <<<"$statuses" && fail "unexpected answers: $(sort <<<"$statuses" | uniq -c)"
  limited="$(sed -n 's/^429 \([0-9][0-9]*\).*/\1/p' <<<"$statuses" | sort -n | tail -1)"
  [ -z "$limited" ] || break
done
[ -n "$limited" ] || fail "never rate limited (is --rate-limit-burst very high?)"
echo "  $(grep -c '^200 ' <<<"$statuses") served, $(grep -c '^429 ' <<<"$statuses") answered 429 RATE_LIMITED, Retry-After: $limited s; waiting"
sleep "$limited"
ok "$(gql '{ __typename }' '' "$KEY")" >/dev/null
echo "  served again after the wait"

step "15. clean up: revoke the key, sign out"
ok "$(gql 'mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }' "$(jq -nc --arg id "$KEY_ID" '{id: $id}')" "$ACCESS")" |
  jq -r '"  key revoked at " + .revokeApiKey.revokedAt'
KEYS_TO_REVOKE=()
ok "$(gql 'mutation($t: String!) { logout(refreshToken: $t) }' "$(jq -nc --arg t "$REFRESH" '{t: $t}')")" >/dev/null
echo "  signed out"

echo
echo "quickstart: OK"
