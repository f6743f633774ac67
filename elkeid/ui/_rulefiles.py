"""Rule files uploaded through the server: check or upload one (ours or Sigma), list, view, delete.

Both forms run the API's routes in process: ``rules.upload_rule_file`` (our
rules or Sigma, told apart by content) and ``rules.import_sigma`` (insisting on
Sigma), with ``check_only`` for "Check only". The server loads the whole set
with the file in it; a file that brings errors is refused with each error's
file, line, code and message, shown beside the form, and the running rules do
not change. Sigma rules that cannot run on our events are listed with the reason.
"""

from __future__ import annotations

import anyio
from quart import redirect, request, url_for
from werkzeug.datastructures import MultiDict

from elkeid.server.detection import FILE_NAME_HINT, FILE_NAME_RE

from ._actions import REFUSALS, act, audited, permits, refusal
from ._console import bp, render
from .errors import BadForm, PageNotFound

FILES_PATH = "/rule-files"
#: The two upload forms: (form id, the console route, the API endpoint it stands for, its heading).
FORMS = (
    ("rules", FILES_PATH, "rules.upload_rule_file", "Upload a rule file (ours or Sigma)"),
    ("sigma", FILES_PATH + "/sigma", "rules.import_sigma", "Import Sigma rules"),
)
_MODES = ("check", "upload")


async def _page(http_status: int = 200, *, error: str = "", errors=(), error_at: str = "", result=None,
                form=None, notice: str = ""):  # fmt: skip
    files = (await act("rules.list_rule_files"))["items"]
    return render("rule_files.html", http_status, active="rules", files=files, forms=FORMS, error=error,
                  errors=list(errors), error_at=error_at, result=result, form=form or {}, notice=notice,
                  name_hint=FILE_NAME_HINT)  # fmt: skip


async def _refused(exc: Exception, where: str, form=None):
    """The files page with a refusal beside ``where``; a refused rule set (``rules_invalid``) lists
    each error with its file and line."""
    status, message = refusal(exc)
    return await _page(status, error=message, errors=getattr(exc, "errors", ()), error_at=where, form=form)


@bp.get(FILES_PATH)
async def rule_files():
    notice = "The file is deleted; its rules stopped." if request.args.get("done") == "deleted" else ""
    return await _page(notice=notice)


def upload_fields(form, data: bytes | None) -> tuple[bool, dict]:
    """(check only?, the upload route's form) from the console's upload form.

    Raises:
        BadForm: the mode is neither check nor upload.
    """
    mode = form.get("mode") or ""
    if mode not in _MODES:
        raise BadForm(f"choose check or upload, not {mode[:20]!r}")
    return mode == "check", {"name": (form.get("name") or "").strip() or None, "file": data}


async def _upload(which: str):
    _form_id, _path, endpoint, _title = next(f for f in FORMS if f[0] == which)
    form, files = await request.form, await request.files
    upload = files.get("file")
    data = await anyio.to_thread.run_sync(upload.read) if upload is not None and upload.filename else None
    try:
        check_only, fields = upload_fields(form, data)
        answer = await act(endpoint, form=fields, query=MultiDict({"check_only": "true" if check_only else "false"}))
    except REFUSALS as exc:
        return await _refused(exc, which, form)
    return await _page(result={**answer, "check_only": check_only, "form": which}, form=form)


@bp.post(FILES_PATH)
@audited("rules.upload_rule_file")
@permits("rules.upload_rule_file")
async def upload_rule_file():
    return await _upload("rules")


@bp.post(FILES_PATH + "/sigma")
@audited("rules.import_sigma")
@permits("rules.import_sigma")
async def import_sigma():
    return await _upload("sigma")


def _name(name: str) -> str:
    if not FILE_NAME_RE.fullmatch(name):
        raise PageNotFound(f"no uploaded rule file named {name[:80]!r}")
    return name


@bp.get(FILES_PATH + "/<path:name>")
async def rule_file(name: str):
    found = await act("rules.get_rule_file", name=_name(name))
    return render("rule_file.html", active="rules", file=found)


@bp.post(FILES_PATH + "/<path:name>/delete")
@audited("rules.delete_rule_file")
@permits("rules.delete_rule_file")
async def delete_rule_file(name: str):
    try:
        await act("rules.delete_rule_file", name=_name(name))
    except REFUSALS as exc:
        return await _refused(exc, "delete")
    return redirect(url_for("console.rule_files", done="deleted"))
