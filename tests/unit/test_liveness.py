"""A dead run looks dead: the manifest's driver (host, process id) and heartbeat tell a running run from one whose
driver is gone; ``--overwrite`` says what it deletes and never deletes under a live driver."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from test_store import POLICIES, PROVENANCE, batch_ids, params, results, write_run

from cluster.errors import InputError
from cluster.store import STALE_BEATS, RunFolder, driver_state, open_run


def _stamp(seconds_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds_ago)).isoformat(timespec="seconds")


def _manifest(host: str, pid: int, seconds_ago: float, every: float = 30.0) -> dict[str, Any]:
    driver = {"host": host, "pid": pid}
    return {"status": "running", "driver": driver, "heartbeat": _stamp(seconds_ago), "heartbeat_seconds": every}


def _dead_pid() -> int:
    """The id of a process of this host that has ended (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_live_driver_on_this_host_is_running() -> None:
    state = driver_state(_manifest(socket.gethostname(), os.getpid(), 5))
    assert state.alive is True
    assert f"pid {os.getpid()}" in state.text
    assert state.text.endswith(("5 s ago", "6 s ago"))  # stamps have whole seconds


def test_a_driver_whose_process_is_gone_is_interrupted_even_with_a_fresh_heartbeat() -> None:
    state = driver_state(_manifest(socket.gethostname(), _dead_pid(), 1))
    assert state.alive is False
    assert "is gone" in state.text


def test_a_zombie_driver_is_gone() -> None:
    """Killed but not yet reaped by its parent: the process table still lists it, yet it runs nothing."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    time.sleep(0.5)  # it exits; not waited for, so it is a zombie
    try:
        assert driver_state(_manifest(socket.gethostname(), proc.pid, 1)).alive is False
    finally:
        proc.wait()


def test_a_live_process_whose_heartbeat_stopped_is_interrupted() -> None:
    """A frozen driver, or its process id reused by another program: the heartbeat decides."""
    every = 10.0
    state = driver_state(_manifest(socket.gethostname(), os.getpid(), STALE_BEATS * every + 60, every))
    assert state.alive is False
    assert "stopped beating" in state.text


@pytest.mark.parametrize(("seconds_ago", "alive"), [(20, True), (3 * 3600, False)])
def test_a_driver_on_another_host_is_judged_by_its_heartbeat(seconds_ago: float, alive: bool) -> None:
    state = driver_state(_manifest("head-node-of-another-cluster", 4242, seconds_ago))
    assert state.alive is alive
    assert "head-node-of-another-cluster" in state.text
    if not alive:
        assert "presumed dead" in state.text
        assert "3.0 h ago" in state.text


def test_a_run_without_heartbeat_cannot_be_judged_and_ended_runs_are_not_alive() -> None:
    assert driver_state({"status": "running"}).alive is None
    for status in ("complete", "failed", "interrupted"):
        assert driver_state({"status": status}) == driver_state({"status": status, "heartbeat": _stamp(0)})
        assert driver_state({"status": status}).alive is False


def test_the_heartbeat_is_rewritten_while_running_and_dropped_at_the_end(tmp_path: Path) -> None:
    folder = write_run(tmp_path / "run", [0])
    folder.beat(every=1.0)  # whole seconds: the manifest's stamps have a resolution of one second
    manifest_path = tmp_path / "run" / "manifest.json"
    first = json.loads(manifest_path.read_text())
    assert first["driver"] == {"host": socket.gethostname(), "pid": os.getpid()}
    assert first["heartbeat_seconds"] == 1.0
    assert [s["index"] for s in first["shards"]] == [0]
    folder.write_batch(1, results(batch_ids(1)), params(batch_ids(1)))
    deadline = time.monotonic() + 10
    while (beat := json.loads(manifest_path.read_text()))["heartbeat"] == first["heartbeat"]:
        assert time.monotonic() < deadline, "no heartbeat in 10 s"
        time.sleep(0.2)
    assert [s["index"] for s in beat["shards"]] == [0, 1]  # a beat lists the shards written since
    folder.complete()
    done = json.loads(manifest_path.read_text())
    assert done["status"] == "complete"
    assert "heartbeat" not in done
    assert "driver" not in done
    time.sleep(1.5)
    assert json.loads(manifest_path.read_text()) == done  # the beat stopped


def test_overwrite_says_what_it_deletes(tmp_path: Path) -> None:
    write_run(tmp_path / "run", [0, 1, 2], info={"policies": POLICIES, "draws": 200}).fail("RuntimeError: node lost")
    notices: list[str] = []
    RunFolder.create(str(tmp_path / "run"), overwrite=True, provenance=PROVENANCE, notify=notices.append)
    assert notices == [f"--overwrite: deleting run {tmp_path / 'run'} (failed, 3 whole shards, 150 of 200 draws)"]
    assert not list((tmp_path / "run" / "results").iterdir())


def test_overwrite_and_resume_refuse_a_run_whose_driver_is_alive(tmp_path: Path) -> None:
    folder = write_run(tmp_path / "run", [0])
    folder.beat()
    with pytest.raises(InputError, match=r"is still running: its driver .* is alive.*stop that run first"):
        RunFolder.create(str(tmp_path / "run"), overwrite=True, provenance=PROVENANCE)
    with pytest.raises(InputError, match=r"is still running: .* needs no resume"):
        RunFolder.resume(str(tmp_path / "run"), provenance=PROVENANCE)
    with pytest.raises(InputError, match=r"is still running: .* wait for it to finish; .*--partial"):
        open_run(tmp_path / "run")
    assert len(list((tmp_path / "run" / "results").iterdir())) == 1  # nothing deleted
    folder.complete()
