#!/bin/sh
# `make run`: the all-in-one server with an agent on this host, state in ./var.
set -eu
cd "$(dirname "$0")/.."
data=${ELKEID_DATA_DIR:-var/server}
https=${ELKEID_LISTEN_HTTPS:-0.0.0.0:8443}
mkdir -p "$data"
pwfile="$data/admin-password"
if [ ! -s "$pwfile" ] && [ ! -e "$data/elkeid.db" ]; then
    umask 077
    .venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(15))' > "$pwfile"
fi
port=${https##*:}
echo "================================================================"
echo " Elkeid console:  https://localhost:$port/"
if [ -s "$pwfile" ]; then
    echo " Admin login:     admin / $(cat "$pwfile")   (saved in $pwfile)"
    ELKEID_ADMIN_PASSWORD=$(cat "$pwfile")
    export ELKEID_ADMIN_PASSWORD
fi
echo " Stop with Ctrl-C. Enroll another host: .venv/bin/elkeid token create --data-dir $data"
echo "================================================================"
exec .venv/bin/elkeid server --data-dir "$data" --listen-https "$https" --local-agent
