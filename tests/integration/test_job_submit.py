"""The smoke job submitted with ``ray job submit`` to a local Ray head that this test starts and stops."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from raycli import free_port, ray_cli

from cluster.store import open_run

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[2]


@pytest.fixture
def head(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A private Ray head (own ports, own --temp-dir, token authentication on), stopped by process group.

    ``ray stop`` would stop every Ray process on the machine: only what this fixture started is stopped.
    """
    ray = ray_cli()
    port, dash, agent = free_port(), free_port(), free_port()
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32), "HOME": str(tmp_path)}
    env.pop("RAY_ADDRESS", None)
    temp = Path("/tmp") / f"shock-ray-{secrets.token_hex(4)}"  # short: Ray's socket paths have a length limit
    proc = subprocess.Popen(
        [
            ray,
            "start",
            "--head",
            f"--port={port}",
            f"--dashboard-port={dash}",
            "--dashboard-host=127.0.0.1",
            f"--dashboard-agent-listen-port={agent}",
            "--num-cpus=2",
            f"--temp-dir={temp}",
            "--block",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    address = f"http://127.0.0.1:{dash}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            status = subprocess.run(
                [ray, "job", "list", "--address", address], env=env, capture_output=True, text=True, timeout=60
            )
            if status.returncode == 0:
                break
            assert proc.poll() is None, "ray start --head exited"
            time.sleep(2)
        else:
            pytest.fail("the Ray head did not come up within 90 s")
        yield address, env
    finally:
        for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                continue
        shutil.rmtree(temp, ignore_errors=True)


def test_ray_job_submit_runs_the_smoke_config(head: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    address, env = head
    out = tmp_path / "runs" / "smoke"
    shock = [sys.executable, "-m", "cluster", "run", "configs/smoke.toml", "--out", str(out), "--draws", "8"]
    command = [ray_cli(), "job", "submit", "--address", address, "--working-dir", str(ROOT), "--", *shock]
    for _ in range(10):  # the head's job agent may come up a little after its dashboard answers
        res = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
        if res.returncode == 0 or "No available agent" not in res.stdout + res.stderr:
            break
        time.sleep(3)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    assert "succeeded" in res.stdout + res.stderr
    run = open_run(str(out))
    assert run.manifest["status"] == "complete"
    assert run.results_table().num_rows == 8 * 3 * 22
