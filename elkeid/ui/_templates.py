"""Jinja templates read through the package (importlib.resources), always autoescaped."""

from __future__ import annotations

from importlib import resources

from jinja2 import BaseLoader, Environment, StrictUndefined, TemplateNotFound
from jinja2.loaders import split_template_path

from . import _format


class PackageResourceLoader(BaseLoader):
    """Loads ``templates/<name>`` from the ``elkeid.ui`` package, wherever it is installed."""

    def __init__(self, package: str = "elkeid.ui", folder: str = "templates") -> None:
        self.package = package
        self.folder = folder

    def get_source(self, environment: Environment, template: str):
        # split_template_path refuses "..", so a name cannot leave the folder.
        path = resources.files(self.package).joinpath(self.folder, *split_template_path(template))
        if not path.is_file():
            raise TemplateNotFound(template)
        return path.read_text(encoding="utf-8"), None, lambda: True


def make_environment() -> Environment:
    """The console's Jinja environment: autoescape on for every template, undefined names fail."""
    env = Environment(
        loader=PackageResourceLoader(),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters.update(_format.FILTERS)
    return env
