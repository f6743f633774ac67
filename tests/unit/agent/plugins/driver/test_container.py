from __future__ import annotations

import pytest

from elkeid.agent.plugins.driver._container import container_id

ID = "4f9a" + "0" * 56 + "beef"


@pytest.mark.parametrize(
    "cgroup",
    [
        f"0::/system.slice/docker-{ID}.scope",
        f"0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/cri-containerd-{ID}.scope",
        f"12:memory:/docker/{ID}",
        f"0::/kubepods/burstable/pod123/{ID}",
        f"0::/machine.slice/libpod-{ID}.scope/container",
        f"0::/system.slice/crio-{ID}.scope",
    ],
)
def test_ids_of_common_runtimes(cgroup):
    assert container_id("1:name=systemd:/\n" + cgroup) == ID


def test_no_container():
    assert container_id("0::/user.slice/user-0.slice/session-1.scope") == ""
    assert container_id("0::/system.slice/" + "a" * 63 + ".scope") == ""
