"""Static files are package data with content types and digests."""

from __future__ import annotations

from elkeid.ui._static import load_static


def test_loads_the_console_script_and_stylesheet():
    files = load_static()
    assert set(files) >= {"console.js", "console.css"}
    js = files["console.js"]
    assert js.content_type == "text/javascript; charset=utf-8" and len(js.digest) == 16
    assert b"innerHTML" not in js.body  # host values are written with textContent only
