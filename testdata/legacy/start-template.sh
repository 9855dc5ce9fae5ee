#!/bin/bash
# The old scripts' start-template.sh NAME PORT DOMAIN, as it ran Open WebUI
# clients before fleetctl: a fixture for 'fleetctl import' tests (and a
# record of what import must reproduce). Arguments after DOMAIN are passed to
# docker run before the image, the way operators added variables to the
# script (-e OPENAI_API_KEY=...). DATABASE_URL, when set, is passed on.
#   OPENWEBUI_IMAGE       image (the old scripts: ghcr.io/imagicrafter/open-webui:main)
#   GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET, OAUTH_ALLOWED_DOMAINS
set -euo pipefail

if [ $# -lt 3 ]; then
    echo "usage: $0 NAME PORT DOMAIN [docker run options...]" >&2
    exit 1
fi
CLIENT_NAME=$1
PORT=$2
DOMAIN=$3
shift 3

db=()
if [ -n "${DATABASE_URL:-}" ]; then
    db=(-e "DATABASE_URL=${DATABASE_URL}")
fi

docker run -d \
    --name "openwebui-${CLIENT_NAME}" \
    -p "${PORT}:8080" \
    -v "openwebui-${CLIENT_NAME}-data:/app/backend/data" \
    -e "WEBUI_NAME=QuantaBase - ${CLIENT_NAME}" \
    -e "GOOGLE_CLIENT_ID=${GOOGLE_CLIENT_ID:-}" \
    -e "GOOGLE_CLIENT_SECRET=${GOOGLE_CLIENT_SECRET:-}" \
    -e "GOOGLE_REDIRECT_URI=https://${DOMAIN}/oauth/google/callback" \
    -e "ENABLE_OAUTH_SIGNUP=true" \
    -e "OAUTH_ALLOWED_DOMAINS=${OAUTH_ALLOWED_DOMAINS:-martins.net}" \
    "${db[@]}" \
    "$@" \
    --restart unless-stopped \
    "${OPENWEBUI_IMAGE:-ghcr.io/imagicrafter/open-webui:main}"
