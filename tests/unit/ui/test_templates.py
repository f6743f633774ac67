"""Templates come from the package and are always autoescaped."""

from __future__ import annotations

import pytest
from jinja2 import TemplateNotFound, UndefinedError

from elkeid.ui._templates import PackageResourceLoader, make_environment


def test_autoescape_is_on_for_every_template():
    env = make_environment()
    assert env.from_string("{{ v }}").render(v="<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert env.from_string('<a title="{{ v }}">').render(v='"><img>') == '<a title="&#34;&gt;&lt;img&gt;">'


def test_undefined_names_fail_loudly():
    with pytest.raises(UndefinedError):
        make_environment().from_string("{{ missing.attr }}").render()


def test_the_loader_stays_inside_the_templates_folder():
    env = make_environment()
    assert "{% block content %}" in PackageResourceLoader().get_source(env, "base.html")[0]
    for name in ("../_console.py", "nope.html"):
        with pytest.raises(TemplateNotFound):
            env.get_template(name)


def test_every_template_compiles():
    env = make_environment()
    for name in ("base.html", "macros.html", "login.html", "error.html", "overview.html", "hosts.html", "host.html",
                 "revoke.html", "account.html"):  # fmt: skip
        env.get_template(name)
