#!/usr/bin/env bash
# Writes the secret files docker-compose.yml mounts (deploy/secrets/*.txt, never
# committed): random values for everything graphhook generates itself, and
# placeholders for what Meta gives you (the app secret, your verify token), which
# you replace before pointing Meta at the deployment. Existing files are kept.
#
# Who can read them: docker compose mounts file secrets as bind mounts, which keep
# the host file's owner and mode, and graphhook's image runs as uid 10001. So the
# files are mode 0644 (readable by uid 10001 inside the container) in a directory
# of mode 0700 (nobody but you can reach them on the host). A 0600 file owned by
# you would be unreadable to graphhook in its container. deploy/check-secrets.sh
# checks both sides without a container engine.
set -euo pipefail
cd "$(dirname "$0")/secrets"
chmod 700 .
umask 022
write() { [ -e "$1" ] || printf '%s\n' "$2" >"$1"; chmod 644 "$1"; }
random() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }
password=$(random 24)
write postgres_password.txt "$password"
write database_url.txt "postgres://graphhook:$(cat postgres_password.txt)@postgres:5432/graphhook"
write admin_token.txt "$(random 32)"
write token_key.txt "$(head -c 32 /dev/urandom | base64)"
write app_secrets.txt "replace-with-the-app-secret-from-the-app-dashboard"
write verify_token.txt "$(random 16)"
ls -l
