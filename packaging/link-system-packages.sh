#!/bin/sh
# Make Debian's bcc bindings (python3-bpfcc) importable in the virtualenv, and
# nothing else from the system site-packages. The PyPI package named "bcc" is an
# unrelated project and must never be installed.
set -eu
venv=$1
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
mkdir -p "$venv/system-links"
for pkg in bcc; do
    if [ -d "/usr/lib/python3/dist-packages/$pkg" ]; then
        ln -sfn "/usr/lib/python3/dist-packages/$pkg" "$venv/system-links/$pkg"
    fi
done
echo "$(cd "$venv/system-links" && pwd)" > "$site/elkeid-system-links.pth"
