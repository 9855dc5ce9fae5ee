#!/usr/bin/env bash
# fleetctl-ci.sh: the shell steps of the CI examples (github-actions.yml,
# gitlab-ci.yml), in one place, so that fleetctl's integration test runs
# exactly the commands and exit-code handling CI runs.
#
#   fleetctl-ci.sh plan       validate fleet.yaml, plan --out PLAN_FILE --detailed-exitcode,
#                             write the plan as text and as a Markdown summary
#   fleetctl-ci.sh apply      apply PLAN_FILE exactly (refused when stale: re-plan), then
#                             check that a new plan finds nothing left to do
#   fleetctl-ci.sh ssh-setup  install the deploy key and known_hosts for DOCKER_HOST=ssh://...
#
# Environment (every variable is optional):
#   FLEETCTL      the fleetctl binary (default: fleetctl on PATH)
#   FLEET_FILE    the fleet.yaml (default: fleet.yaml)
#   PLAN_FILE     the saved plan (default: plan.json; it holds no secret value)
#   PLAN_TEXT     the plan as text (default: plan.txt)
#   PLAN_MD       the Markdown summary, also a PR comment's body (default: plan.md)
#   SUMMARY_FILE  where the summary is appended (default: $GITHUB_STEP_SUMMARY; empty: nowhere)
#   CI_OUTPUT     where key=value results are appended (default: $GITHUB_OUTPUT; empty: nowhere):
#                 changes=true|false after plan
#   FLEET_SSH_KEY, FLEET_SSH_KNOWN_HOSTS  for ssh-setup: the private key and the host's key line(s)
#
# Exit codes: 0 success (plan: with or without changes, see changes=), 1 error
# (invalid fleet.yaml, unresolved secret, conflict, Docker unreachable, failed
# action, stale plan, changes left after apply). Secrets come from the
# environment (${env:NAME} in fleet.yaml) and never appear in any output.
set -euo pipefail

FLEETCTL=${FLEETCTL:-fleetctl}
FLEET_FILE=${FLEET_FILE:-fleet.yaml}
PLAN_FILE=${PLAN_FILE:-plan.json}
PLAN_TEXT=${PLAN_TEXT:-plan.txt}
PLAN_MD=${PLAN_MD:-plan.md}
SUMMARY_FILE=${SUMMARY_FILE-${GITHUB_STEP_SUMMARY:-}}
CI_OUTPUT=${CI_OUTPUT-${GITHUB_OUTPUT:-}}
# GitHub refuses a job summary or a PR comment above ~64 KiB: longer plans are
# cut there and the artifact has the whole plan.
MAX_TEXT=60000
log=$(mktemp)
trap 'rm -f "$log"' EXIT

die() { printf 'fleetctl-ci: %s\n' "$*" >&2; exit 1; }

summary() { # append stdin to the summary file, if any
  if [ -n "$SUMMARY_FILE" ]; then cat >> "$SUMMARY_FILE"; else cat > /dev/null; fi
}

output() { # key=value for later steps, if the CI reads them
  if [ -n "$CI_OUTPUT" ]; then printf '%s\n' "$1" >> "$CI_OUTPUT"; fi
}

# fenced FILE: FILE's text in a Markdown code block, cut at MAX_TEXT bytes.
fenced() {
  printf '```text\n'
  head -c "$MAX_TEXT" "$1"
  if [ "$(wc -c < "$1")" -gt "$MAX_TEXT" ]; then
    printf '\n... (cut: the whole plan is in the plan artifact, fleetctl show %s)' "$PLAN_FILE"
  fi
  printf '\n```\n'
}

# failed STEP LOG: report a failed step with fleetctl's own messages.
failed() {
  { printf '### fleetctl %s failed\n\n' "$1"; fenced "$2"; } | tee "$PLAN_MD" | summary
}

cmd_plan() {
  local code=0
  rm -f "$PLAN_FILE" "$PLAN_TEXT"
  if ! "$FLEETCTL" validate "$FLEET_FILE" > "$log" 2>&1; then
    cat "$log" >&2
    failed validate "$log"
    return 1
  fi
  cat "$log"
  # 0: no changes, 2: changes, anything else: an error (a plan with
  # conflicts is saved and shown, but exits 1).
  "$FLEETCTL" plan -f "$FLEET_FILE" --out "$PLAN_FILE" --detailed-exitcode > "$log" 2>&1 || code=$?
  cat "$log"
  case $code in
    0|2) ;;
    *)
      if [ -s "$PLAN_FILE" ]; then "$FLEETCTL" show "$PLAN_FILE" > "$PLAN_TEXT"; cat "$log" >> "$PLAN_TEXT"; else cp "$log" "$PLAN_TEXT"; fi
      failed plan "$PLAN_TEXT"
      return 1;;
  esac
  # The reviewer's text comes from the saved file, as 'fleetctl show' prints it.
  "$FLEETCTL" show "$PLAN_FILE" > "$PLAN_TEXT"
  local title
  if [ "$code" = 2 ]; then
    output changes=true
    title="$(tail -n 1 "$PLAN_TEXT") Merging applies exactly this plan."
  else
    output changes=false
    title="No changes: the fleet matches $FLEET_FILE."
  fi
  { printf '### fleetctl plan: %s\n\n' "$title"; fenced "$PLAN_TEXT"; } > "$PLAN_MD"
  summary < "$PLAN_MD"
}

cmd_apply() {
  [ -s "$PLAN_FILE" ] || die "no saved plan $PLAN_FILE (run 'fleetctl-ci.sh plan' first)"
  local code=0
  # A saved plan is applied without a question; apply re-observes the host
  # under the fleet's lock and refuses a plan that is no longer true.
  "$FLEETCTL" apply -f "$FLEET_FILE" "$PLAN_FILE" > "$log" 2>&1 || code=$?
  cat "$log"
  if [ "$code" != 0 ]; then
    if grep -q 'the saved plan is stale' "$log"; then
      { printf '### fleetctl apply: the saved plan is stale, nothing was changed\n\n'
        printf 'The host or fleet.yaml changed after the plan was reviewed. Re-plan: run the plan again '
        printf '(re-run this pipeline'"'"'s plan job, or fleetctl plan --out), review it, and apply the new plan.\n\n'
        fenced "$log"; } | summary
      printf 'fleetctl-ci: the saved plan is stale; nothing was changed. Re-plan, review, apply the new plan.\n' >&2
    else
      failed apply "$log"
    fi
    return 1
  fi
  { printf '### fleetctl apply: done\n\n'; fenced "$log"; } | summary
  # Nothing may be left to do once apply succeeded (health is the truth).
  code=0
  "$FLEETCTL" plan -f "$FLEET_FILE" --detailed-exitcode > "$log" 2>&1 || code=$?
  if [ "$code" != 0 ]; then
    cat "$log"
    failed "plan after apply (exit $code: changes or an error remain)" "$log"
    return 1
  fi
  echo "The fleet matches $FLEET_FILE."
}

cmd_ssh_setup() {
  : "${DOCKER_HOST:?DOCKER_HOST=ssh://USER@HOST is needed}"
  : "${FLEET_SSH_KEY:?FLEET_SSH_KEY (the deploy key) is needed}"
  : "${FLEET_SSH_KNOWN_HOSTS:?FLEET_SSH_KNOWN_HOSTS (the host key line, from ssh-keyscan checked by hand) is needed}"
  case $DOCKER_HOST in ssh://*) ;; *) die "DOCKER_HOST $DOCKER_HOST is not ssh://";; esac
  local host=${DOCKER_HOST#ssh://}
  host=${host#*@}; host=${host%%/*}; host=${host%%:*}
  [[ $host =~ ^[A-Za-z0-9.-]+$ ]] || die "DOCKER_HOST: cannot read a host name from $DOCKER_HOST"
  umask 077
  mkdir -p "$HOME/.ssh"
  printf '%s\n' "$FLEET_SSH_KEY" > "$HOME/.ssh/fleetctl_deploy"
  printf '%s\n' "$FLEET_SSH_KNOWN_HOSTS" >> "$HOME/.ssh/known_hosts"
  # Only this key, and only a host whose key is known: never trust on first use.
  printf 'Host %s\n  IdentityFile ~/.ssh/fleetctl_deploy\n  IdentitiesOnly yes\n  StrictHostKeyChecking yes\n  ServerAliveInterval 30\n' "$host" >> "$HOME/.ssh/config"
  echo "ssh to $host set up for DOCKER_HOST"
}

case ${1:-} in
  plan) cmd_plan;;
  apply) cmd_apply;;
  ssh-setup) cmd_ssh_setup;;
  *) die "usage: fleetctl-ci.sh plan|apply|ssh-setup";;
esac
