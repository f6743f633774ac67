#!/bin/sh
# Rebuild rpmdb.sqlite: a real RPM database (sqlite backend) holding three small
# packages built with rpmbuild, as Rocky/RHEL hosts keep in /var/lib/rpm.
# Needs Debian's `rpm` package. Usage: sh make_rpmdb.sh  (writes ./rpmdb.sqlite)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkspec() {  # name epoch version release arch vendor summary
    epoch_line=""
    [ "$2" != "-" ] && epoch_line="Epoch: $2"
    cat > "$work/$1.spec" <<SPEC
Name: $1
$epoch_line
Version: $3
Release: $4
BuildArch: $5
Vendor: $6
Summary: $7
License: MIT
%description
$7
%install
mkdir -p %{buildroot}/usr/share/doc/$1
echo $1 > %{buildroot}/usr/share/doc/$1/README
%files
/usr/share/doc/$1/README
SPEC
    rpmbuild --quiet --define "_topdir $work/top" --define "_build_id_links none" -bb "$work/$1.spec" >/dev/null
}
mkspec openssl-libs 1 3.0.7 27.el9 x86_64 "Rocky Enterprise Software Foundation" "A general purpose cryptography library"
mkspec bash - 5.1.8 9.el9 x86_64 "Rocky Enterprise Software Foundation" "The GNU Bourne Again shell"
mkspec tzdata - 2024a 1.el9 noarch "Rocky Enterprise Software Foundation" "Timezone data"
mkdir -p "$work/db"
rpm --dbpath "$work/db" --initdb
rpm --dbpath "$work/db" -i --justdb --nodeps --ignorearch --ignoreos --nosignature "$work"/top/RPMS/*/*.rpm
sqlite3 "$work/db/rpmdb.sqlite" 'PRAGMA journal_mode=DELETE; VACUUM;' >/dev/null
cp "$work/db/rpmdb.sqlite" "$here/rpmdb.sqlite"
rpm --dbpath "$work/db" -qa --qf '%{NAME} %{EPOCH} %{VERSION}-%{RELEASE} %{ARCH}\n'
