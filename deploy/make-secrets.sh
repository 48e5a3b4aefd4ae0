#!/usr/bin/env bash
# Writes the secret files docker-compose.yml mounts (deploy/secrets/*.txt, never
# committed): random values for everything graphhook generates itself, and
# placeholders for what Meta gives you (the app secret, your verify token), which
# you replace before pointing Meta at the deployment. Existing files are kept.
set -euo pipefail
cd "$(dirname "$0")/secrets"
umask 077
write() { [ -e "$1" ] || printf '%s\n' "$2" >"$1"; }
random() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }
password=$(random 24)
write postgres_password.txt "$password"
write database_url.txt "postgres://graphhook:$(cat postgres_password.txt)@postgres:5432/graphhook"
write admin_token.txt "$(random 32)"
write token_key.txt "$(head -c 32 /dev/urandom | base64)"
write app_secrets.txt "replace-with-the-app-secret-from-the-app-dashboard"
write verify_token.txt "$(random 16)"
ls -l
