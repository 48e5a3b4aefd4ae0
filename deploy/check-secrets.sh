#!/usr/bin/env bash
# Checks, without a container engine, that the secret files deploy/make-secrets.sh
# writes can be read by graphhook in its container and by nobody else on the host.
#
# docker compose mounts a file secret as a bind mount of the host file: owner and
# mode come along, and graphhook's image runs as uid 10001. This script does what
# the engine does with the kernel's own tools: in a mount namespace of its own, it
# bind-mounts each file at /run/secrets/<name> of a fresh tmpfs and reads it as uid
# 10001 (setpriv). It also checks that uid 10001 cannot read the files through
# their host path, and, as a control, that a 0600 file (what the script wrote
# before) would be unreadable in the container. Needs root (mounts, setpriv).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/deploy/secrets"
# Only the secrets directory itself may keep others out on the host.
chmod 755 "$work" "$work/deploy" "$work/deploy/secrets"
cp "$here/make-secrets.sh" "$work/deploy/"
bash "$work/deploy/make-secrets.sh" >/dev/null
as_graphhook() { setpriv --reuid=10001 --regid=10001 --clear-groups "$@"; }
in_container() { # file: reads it as uid 10001 through a bind mount
  # /mnt, in this namespace only, stands for the container's root.
  unshare --mount sh -c '
    set -e
    mount --make-rprivate /
    mount -t tmpfs -o mode=0755 none /mnt
    mkdir -p /mnt/run/secrets
    touch /mnt/run/secrets/secret
    mount --bind "$1" /mnt/run/secrets/secret
    setpriv --reuid=10001 --regid=10001 --clear-groups cat /mnt/run/secrets/secret >/dev/null
  ' sh "$1"
}
failures=0
count=0
for file in "$work"/deploy/secrets/*.txt; do
  count=$((count + 1))
  if ! in_container "$file" 2>/dev/null; then
    echo "FAIL: uid 10001 cannot read $(basename "$file") in the container" >&2
    failures=$((failures + 1))
  fi
  if as_graphhook cat "$file" >/dev/null 2>&1; then
    echo "FAIL: uid 10001 can read $(basename "$file") through the host path" >&2
    failures=$((failures + 1))
  fi
done
control="$work/deploy/secrets/control.txt"
(umask 077 && echo secret >"$control")
if in_container "$control" 2>/dev/null; then
  echo "FAIL: the control (a 0600 file) was readable: the check proves nothing" >&2
  failures=$((failures + 1))
fi
[ "$count" -ge 6 ] || { echo "FAIL: only $count secret files written" >&2; failures=$((failures + 1)); }
if [ "$failures" -gt 0 ]; then
  echo "secret files: $failures problem(s)" >&2
  exit 1
fi
echo "secret files: $count readable by uid 10001 through a bind mount, none through the host path; a 0600 file would not be"
