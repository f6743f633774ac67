"""Actions on one host: tags (add, remove) and delete (= revoke), through the manager's agent routes."""

from __future__ import annotations

import logging

from quart import redirect, request, url_for

from ._actions import act, audited, permits
from ._console import bp, render, session
from ._pages import agent_or_404
from ._taskform import split_words
from .errors import BadForm

log = logging.getLogger(__name__)


@bp.get("/hosts/<agent_id>/revoke")
@permits("agents.delete_agent")
async def revoke_confirm(agent_id: str):
    agent = await agent_or_404(agent_id)
    return render("revoke.html", active="hosts", agent=agent)


@bp.post("/hosts/<agent_id>/revoke")
@audited("agents.delete_agent")
@permits("agents.delete_agent")
async def revoke(agent_id: str):
    """Revoke the agent's certificates, close its stream and fail its open subtasks (``DELETE /api/v1/agents/ID``)."""
    agent = await agent_or_404(agent_id)
    result = await act("agents.delete_agent", aid=agent["id"])
    log.warning("console: %s revoked agent %s (%d certificate(s), %d open subtask(s) failed)", session().username,
                agent["id"], len(result["revoked_serials"]), result["failed_subtasks"])  # fmt: skip
    return redirect(url_for("console.host", agent_id=agent["id"], revoked=1))


@bp.post("/hosts/<agent_id>/tags")
@audited("agents.add_tags")
@permits("agents.add_tags")
async def add_tags(agent_id: str):
    agent = await agent_or_404(agent_id)
    tags = split_words((await request.form).get("tags"))
    if not tags:
        raise BadForm("name at least one tag (letters, digits and . _ : / = + -), separated by commas or spaces")
    await act("agents.add_tags", aid=agent["id"], body={"tags": tags})
    return redirect(url_for("console.host", agent_id=agent["id"], done="tagged") + "#tags")


# The tag is in the path, as in the API's, so even a refused request is audited with the API's target.
@bp.post("/hosts/<agent_id>/tags/remove/<path:tag>")
@audited("agents.remove_tag")
@permits("agents.remove_tag")
async def remove_tag(agent_id: str, tag: str):
    agent = await agent_or_404(agent_id)
    await act("agents.remove_tag", aid=agent["id"], tag=tag)
    return redirect(url_for("console.host", agent_id=agent["id"], done="untagged") + "#tags")
