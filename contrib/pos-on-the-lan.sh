#!/bin/sh
# A POS server on another machine talking to a raincheck node's LAN listener ([lan],
# docs/INTEGRATION.md "The LAN listener"), with nothing but curl. Copy it into the POS's
# own scripts, or read it as the recipe for your POS's language.
#
#   RAINCHECK_LAN=https://192.168.1.20:8460     the node's lan.listen (https with a cert)
#   RAINCHECK_TOKEN=…                           from `raincheck lan client-token NAME --may …`
#   RAINCHECK_CA=/etc/pos/raincheck-lan.pem     the node's certificate, if self-signed
#
#   pos-on-the-lan.sh report approved|declined|error [TERMINAL] [DETAIL]
#   pos-on-the-lan.sh issue OFFER [STAFF]       → prints the code
#   pos-on-the-lan.sh redeem CODE [STAFF]       → prints the answer; exit 0 only if VALID
#   pos-on-the-lan.sh show CODE                 → prints the voucher's record
#
# Every answer is JSON; a refusal is {"error": "…"} and this script prints it on stderr
# and exits 1. Report each card authorisation as it happens, without waiting on the
# answer in the payment path: a report that fails is dropped, not retried (the next one
# carries the news).
set -eu

: "${RAINCHECK_LAN:?set RAINCHECK_LAN to the node's LAN address, e.g. https://192.168.1.20:8460}"
: "${RAINCHECK_TOKEN:?set RAINCHECK_TOKEN to this POS's token}"

# Prints the body; fails with the refusal's words on stderr.
call() {
    method=$1 path=$2 body=${3:-}
    set -- --silent --show-error --max-time 10 --request "$method" \
        --header "Authorization: Bearer $RAINCHECK_TOKEN" \
        --write-out '\n%{http_code}'
    if [ -n "${RAINCHECK_CA:-}" ]; then set -- "$@" --cacert "$RAINCHECK_CA"; fi
    if [ -n "$body" ]; then
        set -- "$@" --header 'Content-Type: application/json' --data "$body"
    fi
    answer=$(curl "$@" "$RAINCHECK_LAN$path") || { echo "raincheck: no answer from $RAINCHECK_LAN" >&2; return 1; }
    status=$(printf '%s\n' "$answer" | tail -n 1)
    body=$(printf '%s\n' "$answer" | sed '$d')
    case $status in
        2??) printf '%s\n' "$body" ;;
        *) echo "raincheck: $status $body" >&2; return 1 ;;
    esac
}

# A JSON string from shell text (quotes and backslashes escaped; one line).
json_string() {
    printf '"%s"' "$(printf '%s' "$1" | tr -d '\n\r' | sed 's/\\/\\\\/g; s/"/\\"/g')"
}

# `,"NAME":"VALUE"` when VALUE is set, else nothing (an empty staff is not a name).
optional() {
    if [ -n "$2" ]; then printf ',"%s":%s' "$1" "$(json_string "$2")"; fi
}

# The value of a top-level string field of a one-line JSON answer.
field() {
    sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"
}

command=${1:-}
case $command in
    report)
        outcome=${2:?report approved, declined or error}
        call POST /v1/authorisations "{\"outcome\":$(json_string "$outcome")$(optional terminal "${3:-}")$(optional detail "${4:-}")}" >/dev/null
        ;;
    issue)
        offer=${2:?issue OFFER [STAFF]}
        answer=$(call POST /v1/vouchers "{\"offer\":$(json_string "$offer")$(optional staff "${3:-}")}")
        printf '%s\n' "$answer" | field code
        ;;
    redeem)
        code=${2:?redeem CODE [STAFF]}
        answer=$(call POST /v1/redemptions "{\"code\":$(json_string "$code")$(optional staff "${3:-}")}")
        answer=$(printf '%s\n' "$answer" | field answer)
        echo "$answer"
        [ "$answer" = VALID ]
        ;;
    show)
        call GET "/v1/vouchers/${2:?show CODE}"
        ;;
    *)
        echo "usage: $0 report approved|declined|error [TERMINAL] [DETAIL] | issue OFFER [STAFF] | redeem CODE [STAFF] | show CODE" >&2
        exit 2
        ;;
esac
