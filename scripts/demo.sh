#!/usr/bin/env bash
# Runs the demo: apply examples/demo/fleet.yaml with fleetctl, then show that
# each client answers on its own port with its own name. Offline: it uses the
# local stand-in image only.  Usage: demo.sh [--clean] FLEETCTL FLEET_YAML
set -euo pipefail
clean=0
if [ "${1:-}" = "--clean" ]; then clean=1; shift; fi
fleetctl=$1 spec=$2
dir=$(dirname "$spec")
fleet=$(awk '/^fleet:/ {print $2; exit}' "$spec")

if [ "$clean" = 1 ]; then
  mapfile -t ids < <(docker ps -aq --filter "label=io.fleetctl.fleet=$fleet")
  if [ "${#ids[@]}" -gt 0 ]; then docker rm -f "${ids[@]}" >/dev/null; fi
  echo "Removed the containers of fleet $fleet. Its volumes are kept:"
  docker volume ls --filter "label=io.fleetctl.fleet=$fleet" --format '  {{.Name}}'
  exit 0
fi

# The seed derives each client's stable WEBUI_SECRET_KEY: create it once, keep it.
[ -s "$dir/demo.seed" ] || { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$dir/demo.seed"; chmod 600 "$dir/demo.seed"; }
demo_secret=demo-not-a-real-secret
export DEMO_GOOGLE_CLIENT_SECRET=${DEMO_GOOGLE_CLIENT_SECRET:-$demo_secret}

echo "== fleetctl plan"
"$fleetctl" plan -f "$spec" || true
echo "== fleetctl apply"
"$fleetctl" apply -f "$spec" --auto-approve
echo
echo "== fleetctl status"
"$fleetctl" status -f "$spec"
echo
echo "== each client answers on its own port with its own name"
while read -r port; do
  printf '  http://127.0.0.1:%s/api/config -> ' "$port"
  curl -fsS "http://127.0.0.1:$port/api/config"; echo
done < <(awk '/port:/ {print $2}' "$spec")
echo
echo "Run 'make demo' again: the plan says 'No changes'. 'make demo-clean' removes the containers."
echo
echo "fleetctl status -f $spec needs Docker only. plan and apply also need the demo's OAuth secret; copy:"
if [ "$DEMO_GOOGLE_CLIENT_SECRET" = "$demo_secret" ]; then
  echo "  export DEMO_GOOGLE_CLIENT_SECRET=$demo_secret"
else # a value of your own is never printed
  echo "  export DEMO_GOOGLE_CLIENT_SECRET=...   # the value you gave make demo"
fi
