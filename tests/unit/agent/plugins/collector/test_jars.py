from __future__ import annotations

import zipfile

from elkeid.agent.plugins.collector import Host
from elkeid.agent.plugins.collector._jars import java_archives, read_archive

from ._java import jvms  # noqa: F401 - fixture


def test_running_jvms_archives(jvms):  # noqa: F811
    entries = java_archives(Host())
    mine = {(e.name, e.version, e.vendor, e.pid) for e in entries if e.pid in (jvms["app"].pid, jvms["kafka"].pid)}
    app, kafka = jvms["app"].pid, jvms["kafka"].pid
    assert ("shop-api", "2.3.1", "com.example", app) in mine
    assert ("jackson-databind", "2.15.2", "", app) in mine and ("log4j-core", "2.14.1", "", app) in mine
    assert ("Apache Commons Lang", "3.12.0", "The Apache Software Foundation", app) in mine
    assert ("kafka_2.13", "3.6.0", "", kafka) in mine
    paths = {e.path for e in entries if e.pid == app}
    assert str(jvms["jars"]["app"]) in paths
    assert f"{jvms['jars']['app']}!/BOOT-INF/lib/log4j-core-2.14.1.jar" in paths


def test_archives_that_are_not_zips_or_missing(tmp_path):
    bad = tmp_path / "x.jar"
    bad.write_bytes(b"not a zip")
    assert read_archive(str(bad), str(bad), 1) == []
    assert read_archive(str(tmp_path / "missing.jar"), "/missing.jar", 1) == []


def test_name_from_the_file_when_the_archive_says_nothing(tmp_path):
    p = tmp_path / "guava-32.1.2-jre.jar"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("com/google/X.class", b"")
    (e,) = read_archive(str(p), str(p), 7)
    assert (e.name, e.version, e.pid) == ("guava", "32.1.2-jre", 7)


def test_a_zip_bomb_manifest_is_not_inflated(tmp_path):
    p = tmp_path / "bomb-1.0.jar"
    with zipfile.ZipFile(p, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("META-INF/MANIFEST.MF", "Implementation-Title: x\n" + "A" * (8 << 20))
        zf.writestr("META-INF/maven/g/a/pom.properties", "artifactId=a\nversion=1\n" + "#" * (8 << 20))
    (e,) = read_archive(str(p), str(p), 1)
    assert (e.name, e.version) == ("bomb", "1.0")  # members over 1 MiB are not read: the file name speaks
