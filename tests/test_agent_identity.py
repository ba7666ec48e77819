"""The hostname an agent registers with: the host's machine id when the container has it mounted."""

import socket

from kubewatch_agent.identity import hostname


def test_the_machine_id_file_gives_a_hostname_that_outlives_the_container(tmp_path):
    machine_id = tmp_path / "machine-id"
    machine_id.write_text("3d1219c7c4c54f0e9d1e2c3b4a5f6e7d\n")
    assert hostname({"KUBEWATCH_MACHINE_ID_FILE": str(machine_id)}) == "machine-3d1219c7c4c5"


def test_without_the_mount_the_container_s_own_hostname_is_used(tmp_path):
    assert hostname({"KUBEWATCH_MACHINE_ID_FILE": str(tmp_path / "absent")}) == socket.gethostname()
    (tmp_path / "empty").write_text("")
    assert hostname({"KUBEWATCH_MACHINE_ID_FILE": str(tmp_path / "empty")}) == socket.gethostname()


def test_outside_a_container_the_hostname_is_the_machine_s():
    assert hostname({}) == socket.gethostname()
