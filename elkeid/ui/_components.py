"""Components: plugin packages (upload, delete) and their assignment to hosts by tag or platform.

Everything goes through the manager's component routes (``components.*``): the
server hashes and signs an uploaded package, and each assignment change pushes
the new plugin set to the hosts it concerns.
"""

from __future__ import annotations

import anyio
from quart import redirect, request, url_for

from elkeid.server.manager import MAX_PACKAGE_BYTES

from ._actions import REFUSALS, act, audited, permits, refusal
from ._console import UPLOAD_PATH, bp, console, render
from ._taskform import split_words
from .errors import BadForm

SELECTOR_FIELDS = ("platform", "platform_family", "arch")
_NOTICES = {
    "uploaded": "The package is stored and signed. Assign it to hosts below.",
    "deleted": "The component is deleted.",
    "assigned": "Assigned: the hosts it picks receive their new plugin set now.",
    "unassigned": "Assignment removed: the hosts it picked receive their new plugin set now.",
}


async def _page(http_status: int = 200, error: str = "", *, error_at: str = "", form=None):
    components = (await act("components.list_components"))["items"]
    assignments = (await act("components.list_assignments"))["items"]
    tags = await anyio.to_thread.run_sync(console().ctx.store.tag_counts)
    used = {a["component_id"] for a in assignments}
    return render("components.html", http_status, active="components", components=components,
                  assignments=assignments, used=used, tags=tags, error=error, error_at=error_at, form=form or {},
                  notice=_NOTICES.get(request.args.get("done", ""), ""), upload_path=UPLOAD_PATH,
                  max_package=MAX_PACKAGE_BYTES, selector_fields=SELECTOR_FIELDS)  # fmt: skip


@bp.get("/components")
async def components():
    return await _page()


@bp.post(UPLOAD_PATH)
@audited("components.upload_component")
@permits("components.upload_component")
async def upload_component():
    form, files = await request.form, await request.files
    data = {k: form.get(k) or None for k in ("name", "version", "type", "detail", "description")}
    package = files.get("file")
    data["file"] = await anyio.to_thread.run_sync(package.read) if package is not None else None
    try:
        await act("components.upload_component", form=data)
    except REFUSALS as exc:
        return await _page(*refusal(exc), error_at="upload", form=form)
    return redirect(url_for("console.components", done="uploaded"))


@bp.post("/components/<int:cid>/delete")
@audited("components.delete_component")
@permits("components.delete_component")
async def delete_component(cid: int):
    await act("components.delete_component", cid=cid)
    return redirect(url_for("console.components", done="deleted"))


def assignment_body(form) -> dict:
    """A ``POST /api/v1/components/assignments`` body from the assignment form.

    Raises:
        BadForm: no component chosen, or not a number.
    """
    text = (form.get("component_id") or "").strip()
    if not text.isdigit():
        raise BadForm("choose the component to assign")
    selector: dict = {}
    tags = split_words(form.get("tags"))
    if tags:
        selector["tags"] = tags
    for name in SELECTOR_FIELDS:
        value = (form.get(name) or "").strip()
        if value:
            selector[name] = value
    detail = form.get("detail") or ""
    return {"component_id": int(text), "selector": selector, "detail": detail.strip() or None}


@bp.post("/components/assignments")
@audited("components.create_assignment")
@permits("components.create_assignment")
async def create_assignment():
    form = await request.form
    try:
        await act("components.create_assignment", body=assignment_body(form))
    except REFUSALS as exc:
        return await _page(*refusal(exc), error_at="assign", form=form)
    return redirect(url_for("console.components", done="assigned"))


@bp.post("/components/assignments/<int:assignment_id>/delete")
@audited("components.delete_assignment")
@permits("components.delete_assignment")
async def delete_assignment(assignment_id: int):
    await act("components.delete_assignment", assignment_id=assignment_id)
    return redirect(url_for("console.components", done="unassigned"))
