"""Version ordering: rpm's own test vectors, rpm's C code itself, dpkg's rules, PEP 440."""

from __future__ import annotations

import ctypes
import ctypes.util
import random

import pytest

from elkeid.server.assets._versions import (
    VersionSyntax, check_version, parse_evr, rpm_evr_compare, rpmvercmp, scheme_for, version_compare,
)  # fmt: skip

# rpm's tests/rpmvercmp.at (rpm 4.18), RPMVERCMP(a, b, expected), in its order.
RPM_VECTORS = """
1.0 1.0 0|1.0 2.0 -1|2.0 1.0 1|2.0.1 2.0.1 0|2.0 2.0.1 -1|2.0.1 2.0 1|2.0.1a 2.0.1a 0|2.0.1a 2.0.1 1
2.0.1 2.0.1a -1|5.5p1 5.5p1 0|5.5p1 5.5p2 -1|5.5p2 5.5p1 1|5.5p10 5.5p10 0|5.5p1 5.5p10 -1|5.5p10 5.5p1 1
10xyz 10.1xyz -1|10.1xyz 10xyz 1|xyz10 xyz10 0|xyz10 xyz10.1 -1|xyz10.1 xyz10 1|xyz.4 xyz.4 0|xyz.4 8 -1
8 xyz.4 1|xyz.4 2 -1|2 xyz.4 1|5.5p2 5.6p1 -1|5.6p1 5.5p2 1|5.6p1 6.5p1 -1|6.5p1 5.6p1 1|6.0.rc1 6.0 1
6.0 6.0.rc1 -1|10b2 10a1 1|10a2 10b2 -1|1.0aa 1.0aa 0|1.0a 1.0aa -1|1.0aa 1.0a 1|10.0001 10.0001 0
10.0001 10.1 0|10.1 10.0001 0|10.0001 10.0039 -1|10.0039 10.0001 1|4.999.9 5.0 -1|5.0 4.999.9 1
20101121 20101121 0|20101121 20101122 -1|20101122 20101121 1|2_0 2_0 0|2.0 2_0 0|2_0 2.0 0|a a 0|a+ a+ 0
a+ a_ 0|a_ a+ 0|+a +a 0|+a _a 0|_a +a 0|+_ +_ 0|_+ +_ 0|_+ _+ 0|+ _ 0|_ + 0|1.0~rc1 1.0~rc1 0
1.0~rc1 1.0 -1|1.0 1.0~rc1 1|1.0~rc1 1.0~rc2 -1|1.0~rc2 1.0~rc1 1|1.0~rc1~git123 1.0~rc1~git123 0
1.0~rc1~git123 1.0~rc1 -1|1.0~rc1 1.0~rc1~git123 1|1.0^ 1.0^ 0|1.0^ 1.0 1|1.0 1.0^ -1|1.0^git1 1.0^git1 0
1.0^git1 1.0 1|1.0 1.0^git1 -1|1.0^git1 1.0^git2 -1|1.0^git2 1.0^git1 1|1.0^git1 1.01 -1|1.01 1.0^git1 1
1.0^20160101 1.0^20160101 0|1.0^20160101 1.0.1 -1|1.0.1 1.0^20160101 1|1.0^20160101^git1 1.0^20160101^git1 0
1.0^20160102 1.0^20160101^git1 1|1.0^20160101^git1 1.0^20160102 -1|1.0~rc1^git1 1.0~rc1^git1 0
1.0~rc1^git1 1.0~rc1 1|1.0~rc1 1.0~rc1^git1 -1|1.0^git1~pre 1.0^git1~pre 0|1.0^git1 1.0^git1~pre 1
1.0^git1~pre 1.0^git1 -1
"""
VECTORS = [tuple(case.split()) for case in RPM_VECTORS.replace("\n", "|").split("|") if case.strip()]


@pytest.mark.parametrize("a, b, want", VECTORS)
def test_rpmvercmp_on_rpms_own_vectors(a, b, want):
    assert rpmvercmp(a, b) == int(want)
    assert version_compare("rpm", a, b) == int(want)  # rpm.ver when present: the same answers


def _librpmio():
    # The host dependency `rpm` brings librpmio (packaging/host-deps.sh): rpm's own C code.
    lib = ctypes.CDLL(ctypes.util.find_library("rpmio") or "librpmio.so.9")
    lib.rpmvercmp.argtypes, lib.rpmvercmp.restype = [ctypes.c_char_p, ctypes.c_char_p], ctypes.c_int
    lib.rpmverParse.argtypes, lib.rpmverParse.restype = [ctypes.c_char_p], ctypes.c_void_p
    lib.rpmverCmp.argtypes, lib.rpmverCmp.restype = [ctypes.c_void_p, ctypes.c_void_p], ctypes.c_int
    lib.rpmverFree.argtypes, lib.rpmverFree.restype = [ctypes.c_void_p], ctypes.c_void_p
    return lib


def _random_versions(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    alphabet = "0001239aAbzZ.._-~^+:"
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 9))) for _ in range(n)]


def test_rpmvercmp_agrees_with_librpmio_on_random_strings():
    lib = _librpmio()
    versions = _random_versions(600, 1) + [v for case in VECTORS for v in case[:2]]
    for a in versions:
        for b in versions[:60]:
            want = lib.rpmvercmp(a.encode(), b.encode())
            assert rpmvercmp(a, b) == (want > 0) - (want < 0), (a, b)


def test_evr_compare_agrees_with_librpmios_rpmver():
    lib = _librpmio()
    evrs = ["1:1.0-1", "1.0-1", "0:1.0-1", ":1.0-1", "2:0.1", "1.0", "1.0-2", "1.0-1.el9", "1.0-1.el9_2",
            "10:3.0.7-27.el9", "3.0.7-24.el9", "1.2.3-4-5", "1.0~rc1-1", "1.0^git1-1", "x:1.0-1"]  # fmt: skip
    evrs += [v for v in _random_versions(300, 2) if v]
    for a in evrs:
        for b in evrs[:40]:
            pa, pb = lib.rpmverParse(a.encode()), lib.rpmverParse(b.encode())
            try:
                want = lib.rpmverCmp(pa, pb)
            finally:
                lib.rpmverFree(pa), lib.rpmverFree(pb)
            assert rpm_evr_compare(a, b) == (want > 0) - (want < 0), (a, b)


def test_parse_evr_splits_like_rpm():
    assert parse_evr("1:3.0.7-27.el9") == ("1", "3.0.7", "27.el9")
    assert parse_evr("3.0.7-27.el9") == (None, "3.0.7", "27.el9")
    assert parse_evr(":1.0") == ("0", "1.0", None)
    assert parse_evr("1.2-3-4") == (None, "1.2-3", "4")


@pytest.mark.parametrize("a, b, want", [
    ("3.0.11-1~deb12u2", "3.0.11-1", -1),     # ~ sorts before the end
    ("3.0.11-1~deb12u2", "3.0.9-1", 1),       # numbers, not text
    ("1:1.0-1", "2.0-1", 1),                  # the epoch wins
    ("1.0+dfsg-1", "1.0-1", 1),
    ("2.36-9+deb12u4", "2.36-9+deb12u10", -1),
    ("1.0", "1.0-0", 0),                      # Debian: an absent revision is "0"
])  # fmt: skip
def test_dpkg_ordering_is_python_debians(a, b, want):
    assert version_compare("dpkg", a, b) == want
    assert version_compare("dpkg", b, a) == -want


def test_a_bad_dpkg_version_is_refused_by_name():
    with pytest.raises(VersionSyntax, match="'1.0 beta' is not a Debian version"):
        version_compare("dpkg", "1.0", "1.0 beta")
    with pytest.raises(VersionSyntax):
        check_version("dpkg", "!!")
    check_version("rpm", "anything goes")


def test_pypi_uses_pep440_and_falls_back_for_other_strings():
    assert version_compare("pypi", "1.0rc1", "1.0") == -1      # rpm rules would say 1
    assert version_compare("pypi", "2.0.post1", "2.0") == 1
    assert version_compare("pypi", "1.0.0", "1") == 0
    assert version_compare("pypi", "not-a-version-2", "not-a-version-10") == -1


def test_schemes_by_software_type():
    assert [scheme_for(t) for t in ("dpkg", "rpm", "pypi", "jar", "npm")] == ["dpkg", "rpm", "pypi", "generic",
                                                                            "generic"]  # fmt: skip
    assert version_compare("generic", "1.2.10", "1.2.9") == 1
    with pytest.raises(ValueError, match="unknown version scheme 'x'"):
        version_compare("x", "1", "2")
