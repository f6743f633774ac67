"""Config sync: make the running plugins match the server's desired set.

``Command.configs`` is the complete desired set (PROTOCOL.md). Each Config is
resolved to a :class:`PluginSpec`:

- ``type == "builtin"``: this agent's own ``elkeid plugin NAME`` (must be in
  :data:`elkeid.agent.plugins.REGISTRY`); nothing is downloaded.
- otherwise: the signature is checked first (no download for a package the
  server did not sign), then the package is downloaded over HTTPS with the
  pinned CA unless already on disk, and its SHA-256 checked (:mod:`._packages`).

A config named ``elkeid-agent`` describes the agent itself (Elkeid's
convention); it is not a plugin, and a set holding only it means "no plugins".
Self-upgrade is not done by this agent: a different version is logged.

A config that fails any check is refused and reported (1010 agent error); if
that plugin already runs, the old one keeps running. The set actually applied
is saved to ``plugins.json`` (0600) and started again on the next agent start
before the server has answered, each package re-hashed first.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
from pathlib import Path
from typing import Awaitable, Callable

import anyio

from elkeid import __version__
from elkeid.proto import transfer_pb2

from . import plugins
from ._packages import check_signature, download, normalize_sha256, verify_file
from ._plugin import PluginSpec
from ._plugin_host import NAME_RE, PluginHost
from .enrollment import Credentials
from .errors import PackageRejected, PluginError

log = logging.getLogger(__name__)

AGENT_CONFIG_NAME = "elkeid-agent"
STATE_FILE = "plugins.json"

Report = Callable[[str, str], Awaitable[None]]  # (plugin name, message)


def builtin_argv(name: str) -> list[str]:
    return [sys.executable, "-m", "elkeid", "plugin", name]


class ConfigSync:
    def __init__(self, data_dir: Path, creds: Credentials, host: PluginHost, report: Report) -> None:
        self.data_dir = data_dir
        self.creds = creds
        self.host = host
        self.report = report
        self.current: dict[str, PluginSpec] = {}
        self._lock = anyio.Lock()

    @property
    def state_file(self) -> Path:
        return self.data_dir / STATE_FILE

    # -- restart --------------------------------------------------------------------------

    async def restore(self) -> None:
        """Start the last good desired set saved by a previous run."""
        try:
            saved = await anyio.to_thread.run_sync(self._load)
        except (OSError, ValueError, TypeError, KeyError) as exc:
            await self.report("", f"cannot read {self.state_file} ({exc}); waiting for the server's plugin list")
            return
        specs: dict[str, PluginSpec] = {}
        for spec in saved:
            try:
                await anyio.to_thread.run_sync(self._check_local, spec)
            except PackageRejected as exc:
                await self.report(spec.name, f"not restarting saved plugin: {exc}")
                continue
            specs[spec.name] = spec
        async with self._lock:
            await self._apply_specs(specs)
        if specs:
            log.info("restarted %d saved plugins: %s", len(specs), ", ".join(sorted(specs)))

    def _load(self) -> list[PluginSpec]:
        try:
            data = json.loads(self.state_file.read_text())
        except FileNotFoundError:
            return []
        return [PluginSpec.from_json(item) for item in data["plugins"]]

    def _check_local(self, spec: PluginSpec) -> None:
        if not NAME_RE.match(spec.name):
            raise PackageRejected(f"plugin name {spec.name!r} is not allowed")
        if spec.type == "builtin":
            if spec.name not in plugins.REGISTRY:
                raise PackageRejected(f"plugin {spec.name}: no built-in plugin of that name in this agent version")
            spec.argv = builtin_argv(spec.name)  # the interpreter path may have moved
            return
        check_signature(self.creds.signing_public_key, spec.name, spec.version, spec.sha256, spec.signature)
        verify_file(self._package_path(spec.name, spec.sha256), spec.name, spec.sha256)

    # -- a new desired set ----------------------------------------------------------------

    async def apply(self, configs: list[transfer_pb2.Config]) -> None:
        """Resolve ``configs`` and make the running plugins match; refusals are reported."""
        async with self._lock:
            desired: dict[str, PluginSpec] = {}
            for cfg in configs:
                if cfg.name == AGENT_CONFIG_NAME:
                    if cfg.version and cfg.version != __version__:
                        log.warning("the server offers agent version %s (running %s); self-upgrade is not supported, "
                                    "upgrade the package", cfg.version, __version__)  # fmt: skip
                    continue
                try:
                    if cfg.name in desired:
                        raise PackageRejected(f"plugin {cfg.name!r} appears twice in the config; the first one is used")
                    try:
                        desired[cfg.name] = await self._resolve(cfg)
                    except OSError as exc:
                        raise PackageRejected(f"plugin {cfg.name}: cannot store the package: {exc}") from exc
                except PackageRejected as exc:
                    old = self.current.get(cfg.name)
                    keep = f"; {cfg.name} {old.version} keeps running" if old is not None and cfg.name not in desired else ""
                    await self.report(cfg.name, f"{exc}{keep}")
                    if keep:
                        desired[cfg.name] = old
            await self._apply_specs(desired)

    async def _apply_specs(self, desired: dict[str, PluginSpec]) -> None:
        try:
            await self.host.apply(desired)
        except PluginError as exc:
            await self.report("", str(exc))
            return
        self.current = dict(desired)
        try:
            await anyio.to_thread.run_sync(self._save_and_clean)
        except OSError as exc:
            await self.report("", f"cannot save the plugin set to {self.state_file}: {exc}")

    async def _resolve(self, cfg: transfer_pb2.Config) -> PluginSpec:
        name = cfg.name
        if not NAME_RE.match(name):
            raise PackageRejected(f"plugin name {name[:80]!r} is not allowed (letters, digits, '_', '.', '-', at most 64)")
        if cfg.detail:
            try:
                if not isinstance(json.loads(cfg.detail), dict):
                    raise ValueError("not an object")
            except ValueError as exc:
                raise PackageRejected(f"plugin {name}: detail is not a JSON object ({exc})") from exc
        if cfg.type == "builtin":
            if name not in plugins.REGISTRY:
                known = ", ".join(sorted(plugins.REGISTRY)) or "none"
                raise PackageRejected(f"plugin {name}: no built-in plugin of that name in this agent (built-in: {known})")
            return PluginSpec(name, cfg.version or __version__, "builtin", builtin_argv(name), detail=cfg.detail)
        sha = normalize_sha256(name, cfg.sha256)
        check_signature(self.creds.signing_public_key, name, cfg.version, sha, cfg.signature)
        path = self._package_path(name, sha)
        if not path.exists():
            await anyio.to_thread.run_sync(download, list(cfg.download_urls), path, name, sha, self.creds.ca_pem)
        await anyio.to_thread.run_sync(verify_file, path, name, sha)
        return PluginSpec(name, cfg.version, cfg.type or "exec", [str(path)], sha256=sha, signature=cfg.signature,
                          detail=cfg.detail, download_urls=list(cfg.download_urls))  # fmt: skip

    def _package_path(self, name: str, sha: str) -> Path:
        return self.host.workdir(name) / f"{sha}.pkg"

    def _save_and_clean(self) -> None:
        data = {"plugins": [spec.to_json() for spec in self.current.values()]}
        tmp = self.state_file.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.state_file)
        root = self.data_dir / "plugins"
        if not root.is_dir():
            return
        for folder in root.iterdir():
            spec = self.current.get(folder.name)
            if spec is None and folder.is_dir():
                log.info("removing the folder of plugin %s (no longer configured)", folder.name)
                shutil.rmtree(folder, ignore_errors=True)
                continue
            for pkg in folder.glob("*.pkg"):
                if spec is not None and pkg.name != f"{spec.sha256}.pkg":
                    pkg.unlink(missing_ok=True)
