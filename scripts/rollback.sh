#!/usr/bin/env bash
# Rolls the THERMALIQ Deployment back one revision (or to --to-revision N) and proves the
# service works again: the seed runbook's "Automated Rollback Script", made correct. The
# procedure around it is docs/runbooks/deployment-and-rollback.md.
#
# Steps: back up the Deployment spec, `kubectl rollout undo`, wait for the rollout, check
# GET /health (healthy, version reported), drop the bad version's cache keys, submit the test
# calculation and read it back, notify the webhook. Any failed step stops the script with its
# own exit code (below) and notifies the webhook of the failure.
#
# The API token is read from --token-file or THERMALIQ_TOKEN and only ever written to a private
# header file that curl reads (`-H @file`): it is never on a command line, in a log line or in
# `bash -x` output.
set -euo pipefail

readonly EXIT_USAGE=2
readonly EXIT_KUBECTL=3
readonly EXIT_ROLLOUT=4
readonly EXIT_HEALTH=5
readonly EXIT_CALCULATION=6
readonly EXIT_CACHE=7
readonly EXIT_NOTIFY=8

usage() {
    cat <<'EOF'
Usage: scripts/rollback.sh [options]

Roll the THERMALIQ Deployment back and verify the service.

Options:
  --namespace NS          Kubernetes namespace (default: gl-009-production)
  --deployment NAME       Deployment and container name (default: thermaliq)
  --to-revision N         roll back to revision N (default: the previous revision)
  --url URL               service base URL, e.g. http://thermaliq.gl-009-production.svc:8080
                          (default: $THERMALIQ_URL); /v1/thermaliq is appended
  --token-file FILE       file holding an API token (default: the THERMALIQ_TOKEN variable);
                          operator role at least, admin with --bad-version
  --bad-version X.Y.Z     drop the cache keys of this version (calculation:*:vX.Y.Z:*)
  --expect-version X.Y.Z  fail unless /health reports this version after the rollback
  --calculation FILE      test calculation request (default: deploy/test_calculation.json)
  --webhook URL           POST a JSON notification of the outcome to URL
  --backup-dir DIR        where the Deployment spec is saved (default: ./backups)
  --timeout DURATION      rollout wait, kubectl syntax: 300s, 5m (default: 5m)
  --health-wait SECONDS   how long /health may take to answer healthy (default: 60)
  --dry-run               print the kubectl and curl calls, change nothing
  -h, --help              this text

Exit codes:
  0  rolled back and verified
  2  usage: bad or missing option, unreadable file, missing token or tool
  3  kubectl failed (backup of the spec, rollout undo, reading the image)
  4  the rollout did not complete within --timeout
  5  /health did not answer healthy (or not the --expect-version) within --health-wait
  6  the test calculation failed or could not be read back
  7  the cache invalidation of --bad-version failed
  8  the rollback succeeded but the webhook notification failed
EOF
}

log() {
    printf '[%s] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2
}

usage_error() {
    printf 'rollback.sh: %s (see --help)\n' "$*" >&2
    exit "$EXIT_USAGE"
}

NAMESPACE=gl-009-production
DEPLOYMENT=thermaliq
TO_REVISION=
URL=${THERMALIQ_URL:-}
TOKEN_FILE=
BAD_VERSION=
EXPECT_VERSION=
CALCULATION="$(dirname "${BASH_SOURCE[0]}")/../deploy/test_calculation.json"
WEBHOOK=
BACKUP_DIR=./backups
TIMEOUT=5m
HEALTH_WAIT=60
DRY_RUN=false

# The value of option $1 given as `--opt value` ($2) or `--opt=value`.
need_value() {
    [[ $# -ge 2 && -n $2 ]] || usage_error "$1 needs a value"
}

while [[ $# -gt 0 ]]; do
    arg=$1
    if [[ $arg == --*=* ]]; then
        set -- "${arg%%=*}" "${arg#*=}" "${@:2}"
        arg=$1
    fi
    case $arg in
        --namespace) need_value "$@"; NAMESPACE=$2; shift 2 ;;
        --deployment) need_value "$@"; DEPLOYMENT=$2; shift 2 ;;
        --to-revision) need_value "$@"; TO_REVISION=$2; shift 2 ;;
        --url) need_value "$@"; URL=$2; shift 2 ;;
        --token-file) need_value "$@"; TOKEN_FILE=$2; shift 2 ;;
        --bad-version) need_value "$@"; BAD_VERSION=${2#v}; shift 2 ;;
        --expect-version) need_value "$@"; EXPECT_VERSION=${2#v}; shift 2 ;;
        --calculation) need_value "$@"; CALCULATION=$2; shift 2 ;;
        --webhook) need_value "$@"; WEBHOOK=$2; shift 2 ;;
        --backup-dir) need_value "$@"; BACKUP_DIR=$2; shift 2 ;;
        --timeout) need_value "$@"; TIMEOUT=$2; shift 2 ;;
        --health-wait) need_value "$@"; HEALTH_WAIT=$2; shift 2 ;;
        --dry-run) DRY_RUN=true; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage_error "unknown option $arg" ;;
    esac
done

readonly VERSION_RE='^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$'
[[ $NAMESPACE =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || usage_error "--namespace: $NAMESPACE is not a Kubernetes name"
[[ $DEPLOYMENT =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || usage_error "--deployment: $DEPLOYMENT is not a Kubernetes name"
[[ -z $TO_REVISION || $TO_REVISION =~ ^[1-9][0-9]*$ ]] || usage_error "--to-revision: $TO_REVISION is not a revision number"
[[ -z $BAD_VERSION || $BAD_VERSION =~ $VERSION_RE ]] || usage_error "--bad-version: $BAD_VERSION is not a version X.Y.Z"
[[ -z $EXPECT_VERSION || $EXPECT_VERSION =~ $VERSION_RE ]] || usage_error "--expect-version: $EXPECT_VERSION is not a version X.Y.Z"
[[ $TIMEOUT =~ ^[0-9]+(s|m|h)?$ ]] || usage_error "--timeout: $TIMEOUT is not a duration such as 300s or 5m"
[[ $HEALTH_WAIT =~ ^[0-9]+$ ]] || usage_error "--health-wait: $HEALTH_WAIT is not a number of seconds"
[[ -n $URL ]] || usage_error "--url (or THERMALIQ_URL) is required"
[[ $URL =~ ^https?://[^[:space:]]+$ ]] || usage_error "--url: $URL is not an http(s) URL"
[[ -z $WEBHOOK || $WEBHOOK =~ ^https?://[^[:space:]]+$ ]] || usage_error "--webhook: not an http(s) URL"
[[ -r $CALCULATION ]] || usage_error "--calculation: cannot read $CALCULATION"
for tool in curl jq; do
    command -v "$tool" >/dev/null || usage_error "$tool is not installed"
done
command -v kubectl >/dev/null || { log "ERROR: kubectl is not on PATH"; exit "$EXIT_KUBECTL"; }
jq -e 'type == "object" and (.facility_id | type == "string")' "$CALCULATION" >/dev/null 2>&1 \
    || usage_error "--calculation: $CALCULATION is not a calculation request (JSON with facility_id)"

URL=${URL%/}
API=${URL%/v1/thermaliq}/v1/thermaliq

# Everything the script writes (backups included: a Deployment spec may carry configuration)
# is private to the operator.
umask 077
WORK=$(mktemp -d "${TMPDIR:-/tmp}/thermaliq-rollback.XXXXXX")
trap 'rm -rf -- "$WORK"' EXIT
readonly AUTH_HEADER=$WORK/auth.header

# The header file is built by commands that name the token's source, never its value, so
# neither an expansion nor `bash -x` can show it.
if [[ -n $TOKEN_FILE ]]; then
    [[ -r $TOKEN_FILE ]] || usage_error "--token-file: cannot read $TOKEN_FILE"
    { printf 'Authorization: Bearer '; head -n 1 -- "$TOKEN_FILE" | tr -d '\r\n'; printf '\n'; } >"$AUTH_HEADER"
elif printenv THERMALIQ_TOKEN >/dev/null; then
    { printf 'Authorization: Bearer '; printenv THERMALIQ_TOKEN | tr -d '\r\n'; printf '\n'; } >"$AUTH_HEADER"
else
    usage_error "an API token is required: --token-file FILE or THERMALIQ_TOKEN"
fi
# 23 bytes are the header without a token.
[[ $(wc -c <"$AUTH_HEADER") -gt 23 ]] || usage_error "the API token is empty"

# Webhook URLs are secrets too (a Slack hook is its own credential): only the host is shown.
webhook_shown() {
    local rest=${WEBHOOK#*://}
    printf '%s://%s/…' "${WEBHOOK%%://*}" "${rest%%/*}"
}

# Prints a command as a dry run shows it.
show() {
    local quoted
    printf -v quoted '%q ' "$@"
    printf 'DRY-RUN: %s\n' "${quoted% }"
}

STEP=start
SERVED_VERSION=
CALCULATION_ID=

# POSTs the outcome to the webhook; fails when the webhook does not accept it.
notify() {
    local outcome=$1 code=$2 message=$3
    [[ -n $WEBHOOK ]] || return 0
    jq -n --arg outcome "$outcome" --argjson code "$code" --arg message "$message" \
        --arg step "$STEP" --arg namespace "$NAMESPACE" --arg deployment "$DEPLOYMENT" \
        --arg version "$SERVED_VERSION" --arg calculation "$CALCULATION_ID" \
        --arg bad "$BAD_VERSION" --arg time "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
        '{text: "THERMALIQ rollback of deployment/\($deployment) in \($namespace) \($outcome): \($message)",
          service: "thermaliq", outcome: $outcome, exit_code: $code, step: $step,
          namespace: $namespace, deployment: $deployment, message: $message,
          version: $version, bad_version: $bad, calculation_id: $calculation, time: $time}' \
        >"$WORK/notification.json"
    if $DRY_RUN; then
        show curl --silent --show-error --max-time 10 -X POST -H 'Content-Type: application/json' \
            --data-binary @notification.json "$(webhook_shown)"
        return 0
    fi
    local status
    status=$(curl --silent --show-error --max-time 10 --output /dev/null --write-out '%{http_code}' \
        -X POST -H 'Content-Type: application/json' --data-binary "@$WORK/notification.json" \
        "$WEBHOOK") || status=000
    if [[ $status != 2?? ]]; then
        log "WARNING: the webhook $(webhook_shown) answered HTTP $status"
        return 1
    fi
}

# Stops with exit code $1 after logging $2 and notifying the webhook.
fail() {
    local code=$1 message=$2
    log "ERROR ($STEP): $message"
    notify failed "$code" "$message" || true
    exit "$code"
}

# Calls the API: api METHOD PATH [BODY_FILE]; the status in HTTP_STATUS, the body in
# $WORK/body. Authenticated except for /health.
HTTP_STATUS=
api() {
    local method=$1 path=$2 body=${3:-}
    local args=(--silent --show-error --max-time 30 -X "$method")
    [[ $path == /health ]] || args+=(-H "@$AUTH_HEADER")
    [[ -z $body ]] || args+=(-H 'Content-Type: application/json' --data-binary "@$body")
    if $DRY_RUN; then
        show curl "${args[@]}" "$API$path"
        return 0
    fi
    rm -f -- "$WORK/body"
    HTTP_STATUS=$(curl "${args[@]}" --output "$WORK/body" --write-out '%{http_code}' "$API$path") \
        || HTTP_STATUS=000
}

# Runs kubectl, or shows it in a dry run.
kube() {
    if $DRY_RUN; then
        show kubectl "$@"
        return 0
    fi
    kubectl "$@"
}

backup_spec() {
    STEP=backup
    local file
    file="$BACKUP_DIR/deployment_${NAMESPACE}_${DEPLOYMENT}_$(date -u +%Y%m%dT%H%M%SZ).yaml"
    if $DRY_RUN; then
        show kubectl get deployment "$DEPLOYMENT" -n "$NAMESPACE" -o yaml
        printf 'DRY-RUN: (saved to %s)\n' "$file"
        return 0
    fi
    mkdir -p -- "$BACKUP_DIR" || fail "$EXIT_USAGE" "cannot create the backup directory $BACKUP_DIR"
    if ! kubectl get deployment "$DEPLOYMENT" -n "$NAMESPACE" -o yaml >"$file.partial" \
        || [[ ! -s $file.partial ]]; then
        rm -f -- "$file.partial"
        fail "$EXIT_KUBECTL" "kubectl could not read deployment/$DEPLOYMENT; nothing was rolled back"
    fi
    mv -- "$file.partial" "$file"
    log "Deployment spec saved to $file"
}

undo() {
    STEP=rollout-undo
    local args=(rollout undo "deployment/$DEPLOYMENT" -n "$NAMESPACE")
    [[ -z $TO_REVISION ]] || args+=("--to-revision=$TO_REVISION")
    log "Rolling back deployment/$DEPLOYMENT${TO_REVISION:+ to revision $TO_REVISION}"
    kube "${args[@]}" || fail "$EXIT_KUBECTL" "kubectl rollout undo failed"
}

wait_rollout() {
    STEP=rollout-status
    log "Waiting up to $TIMEOUT for the rollout"
    kube rollout status "deployment/$DEPLOYMENT" -n "$NAMESPACE" "--timeout=$TIMEOUT" \
        || fail "$EXIT_ROLLOUT" "the rollout did not complete within $TIMEOUT"
}

check_health() {
    STEP=health
    log "Checking $API/health"
    api GET /health
    $DRY_RUN && return 0
    local deadline=$((SECONDS + HEALTH_WAIT)) status version
    while :; do
        status=$(jq -r '.status // empty' "$WORK/body" 2>/dev/null || true)
        version=$(jq -r '.version // empty' "$WORK/body" 2>/dev/null || true)
        if [[ $HTTP_STATUS == 200 && $status == healthy && -n $version ]]; then
            break
        fi
        if ((SECONDS >= deadline)); then
            fail "$EXIT_HEALTH" "GET /health answered HTTP $HTTP_STATUS status '${status:-none}' (wanted 200 healthy with a version)"
        fi
        sleep 2
        api GET /health
    done
    SERVED_VERSION=$version
    log "Service healthy, version $version"
    if [[ -n $EXPECT_VERSION && $version != "$EXPECT_VERSION" ]]; then
        fail "$EXIT_HEALTH" "the service reports version $version, not the expected $EXPECT_VERSION"
    fi
}

invalidate_cache() {
    [[ -n $BAD_VERSION ]] || return 0
    STEP=cache-invalidate
    local pattern="calculation:*:v$BAD_VERSION:*"
    log "Dropping the cache keys $pattern"
    jq -n --arg p "$pattern" '{pattern: $p}' >"$WORK/invalidate.json"
    api POST /admin/cache/invalidate "$WORK/invalidate.json"
    $DRY_RUN && return 0
    [[ $HTTP_STATUS == 200 ]] \
        || fail "$EXIT_CACHE" "POST /admin/cache/invalidate answered HTTP $HTTP_STATUS: $(head -c 300 "$WORK/body")"
    log "Cache entries dropped: $(jq -r '.invalidated' "$WORK/body")"
}

test_calculation() {
    STEP=test-calculation
    log "Submitting the test calculation $CALCULATION"
    api POST /calculate "$CALCULATION"
    if $DRY_RUN; then
        api GET "/calculations/CALC-<calculation_id of the answer>"
        return 0
    fi
    [[ $HTTP_STATUS == 200 || $HTTP_STATUS == 201 ]] \
        || fail "$EXIT_CALCULATION" "POST /calculate answered HTTP $HTTP_STATUS: $(head -c 300 "$WORK/body")"
    local id status
    id=$(jq -r '.calculation_id // empty' "$WORK/body")
    status=$(jq -r '.status // empty' "$WORK/body")
    [[ $id == CALC-* && $status == completed ]] \
        || fail "$EXIT_CALCULATION" "POST /calculate answered calculation '${id:-none}' with status '${status:-none}', not completed"
    CALCULATION_ID=$id
    api GET "/calculations/$id"
    [[ $HTTP_STATUS == 200 ]] \
        || fail "$EXIT_CALCULATION" "GET /calculations/$id answered HTTP $HTTP_STATUS"
    jq -e --arg id "$id" '.calculation_id == $id and (.efficiency | type == "number")' \
        "$WORK/body" >/dev/null \
        || fail "$EXIT_CALCULATION" "GET /calculations/$id is not the stored calculation with its efficiency"
    log "Test calculation $id stored and read back, efficiency $(jq -r '.efficiency' "$WORK/body") % (HHV)"
}

report_image() {
    STEP=image
    local image
    if $DRY_RUN; then
        show kubectl get deployment "$DEPLOYMENT" -n "$NAMESPACE" -o \
            "jsonpath={.spec.template.spec.containers[?(@.name==\"$DEPLOYMENT\")].image}"
        return 0
    fi
    image=$(kubectl get deployment "$DEPLOYMENT" -n "$NAMESPACE" -o \
        "jsonpath={.spec.template.spec.containers[?(@.name==\"$DEPLOYMENT\")].image}") \
        || fail "$EXIT_KUBECTL" "kubectl could not read the image of deployment/$DEPLOYMENT"
    log "Deployment image now $image"
}

main() {
    $DRY_RUN && log "Dry run: nothing is changed; the calls follow"
    log "Rollback of deployment/$DEPLOYMENT in $NAMESPACE, service $API"
    backup_spec
    undo
    wait_rollout
    check_health
    invalidate_cache
    test_calculation
    report_image
    STEP=done
    notify succeeded 0 "rolled back and verified${SERVED_VERSION:+, version $SERVED_VERSION}" \
        || { log "ERROR: the rollback succeeded but the webhook notification failed"; exit "$EXIT_NOTIFY"; }
    if $DRY_RUN; then
        log "Dry run complete: nothing was changed"
    else
        log "Rollback completed and verified"
    fi
}

main
