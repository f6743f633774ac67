"""Header discovery on real folder trees built in tmp_path."""

from __future__ import annotations

import os

import pytest

from elkeid.agent.plugins.driver import HeadersUnavailable
from elkeid.agent.plugins.driver._headers import find_headers


def make_tree(path, release: str | None = None, files=("include/linux/kconfig.h",)):
    for f in files:
        (path / f).parent.mkdir(parents=True, exist_ok=True)
        (path / f).write_text(f"/* {f} */\n")
    if release:
        (path / "include/config").mkdir(parents=True, exist_ok=True)
        (path / "include/config/kernel.release").write_text(release + "\n")


def locations(tmp_path):
    return dict(modules_root=tmp_path / "modules", src_root=tmp_path / "src", cache_dir=tmp_path / "cache",
                kheaders=tmp_path / "kheaders.tar.xz", environ={}, machine="x86_64")  # fmt: skip


def test_the_running_kernels_own_headers_are_used_as_they_are(tmp_path):
    make_tree(tmp_path / "modules/6.9.1-test/build", "6.9.1-test")
    hs = find_headers("6.9.1-test", **locations(tmp_path))
    assert (hs.kind, hs.version, hs.source, hs.warning) == ("running-kernel", "6.9.1-test", None, "")


def test_own_headers_with_another_release_are_used_with_a_warning(tmp_path):
    make_tree(tmp_path / "modules/6.9.1-test/build", "6.9.0-other")
    hs = find_headers("6.9.1-test", **locations(tmp_path))
    assert hs.kind == "running-kernel" and "6.9.0-other" in hs.warning and "tracepoint arguments" in hs.warning


def test_debian_headers_are_merged_into_one_tree_of_links(tmp_path):
    src = tmp_path / "src"
    make_tree(src / "linux-headers-6.1.0-9-common", files=("include/linux/kconfig.h", "include/linux/a.h", "Makefile"))
    make_tree(src / "linux-headers-6.1.0-9-amd64", "6.1.99", files=("include/linux/a.h", "include/generated/autoconf.h"))
    make_tree(src / "linux-headers-6.1.0-8-common")
    make_tree(src / "linux-headers-6.1.0-8-amd64")
    make_tree(src / "linux-headers-6.1.0-9-cloud-amd64")
    os.symlink("include", src / "linux-headers-6.1.0-9-amd64" / "inc-link")
    hs = find_headers("6.18.0-other", **locations(tmp_path))
    assert (hs.kind, hs.version) == ("debian", "6.1.0-9-amd64")
    tree = hs.source
    assert tree == tmp_path / "cache/6.1.0-9-amd64"
    assert os.readlink(tree / "include/linux/kconfig.h") == str(src / "linux-headers-6.1.0-9-common/include/linux/kconfig.h")
    # the flavour tree wins where both have a file
    assert os.readlink(tree / "include/linux/a.h") == str(src / "linux-headers-6.1.0-9-amd64/include/linux/a.h")
    assert (tree / "include/generated/autoconf.h").read_text().startswith("/*")
    assert (tree / "inc-link").is_symlink()
    assert "6.18.0-other" in hs.warning and "never kernel struct offsets" in hs.warning
    # built once: a second call reuses the tree
    stamp = (tree / ".elkeid-sources").stat().st_mtime_ns
    find_headers("6.18.0-other", **locations(tmp_path))
    assert (tree / ".elkeid-sources").stat().st_mtime_ns == stamp


def test_an_override_must_exist(tmp_path):
    make_tree(tmp_path / "mine", "6.5.0")
    loc = locations(tmp_path)
    loc["environ"] = {"BCC_KERNEL_SOURCE": str(tmp_path / "mine")}
    assert find_headers("6.5.0", **loc).kind == "override"
    loc["environ"] = {"BCC_KERNEL_SOURCE": str(tmp_path / "absent")}
    with pytest.raises(HeadersUnavailable, match="BCC_KERNEL_SOURCE=.*absent has no include/"):
        find_headers("6.5.0", **loc)


def test_kernel_carried_headers_are_left_to_bcc(tmp_path):
    (tmp_path / "kheaders.tar.xz").write_bytes(b"")
    assert find_headers("6.5.0", **locations(tmp_path)).kind == "kheaders"


def test_nothing_found_says_what_to_install(tmp_path):
    with pytest.raises(HeadersUnavailable, match=r"no kernel headers for 6\.5\.0.*install linux-headers-6\.5\.0 "
                                                 r"\(or linux-headers-amd64\)"):  # fmt: skip
        find_headers("6.5.0", **locations(tmp_path))
