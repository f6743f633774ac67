#!/bin/sh
# Install the Debian packages Elkeid needs to run and to be tested, if missing.
# Idempotent: does nothing (and needs no network) when everything is present.
set -eu

arch=$(dpkg --print-architecture)
pkgs="python3 python3-venv python3-dev python3-bpfcc gcc make ca-certificates iproute2 kmod
      postgresql chromium fonts-liberation linux-headers-$arch"
# Collector/journal_watcher tests: a real rpm, a JVM, journal files written by systemd.
pkgs="$pkgs libcrypt1 rpm openjdk-17-jdk-headless systemd-journal-remote"
# The running kernel's own headers, when Debian has them, make bcc match exactly.
if apt-cache show "linux-headers-$(uname -r)" >/dev/null 2>&1; then
    pkgs="$pkgs linux-headers-$(uname -r)"
fi

missing=""
for p in $pkgs; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "missing Debian packages:$missing" >&2
    echo "run this as root (or: sudo apt-get install$missing)" >&2
    exit 1
fi
echo "installing Debian packages:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
