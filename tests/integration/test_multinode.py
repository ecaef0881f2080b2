"""Two Ray nodes on this machine, token authentication on; one node is killed mid-run and the run still ends whole.

Real processes throughout: a head and a second node started with ``ray start`` (each its own process group, temp
folder and ports), ``shock run --address`` as the driver in a subprocess, the second node SIGKILLed (raylet, agents
and workers at once, as a lost machine) after some shards are written. Ray retries the tasks the node took with it;
the run's tables, read back with pyarrow, must equal a serial run's bit for bit. Ray's state API shows which node
ran each task. A driver without the cluster's token, or with another token, is refused with a clear message.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from raycli import free_port, ray_cli

from cluster.runs import run_config
from cluster.store import open_run

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "configs" / "smoke.toml"
DRAWS, DAYS, BATCH = 64, 120, 2  # 32 batches of ~0.4 s each: the kill lands with most of the run to go
KILL_AFTER = 6  # shards on disk before the second node is killed
#: Ray's own knobs (``RAY_<config>``), for the cluster's processes: the head declares a silent node dead after
#: 3 missed health checks a second apart, not Ray's default 5 checks 3 s apart.
FAST_HEALTH_CHECK = {
    "RAY_health_check_initial_delay_ms": "1000",
    "RAY_health_check_period_ms": "1000",
    "RAY_health_check_failure_threshold": "3",
}


@dataclass
class Cluster:
    """A head and a second node, each a ``ray start --block`` leading its own process group."""

    address: str  # the head's GCS, host:port
    env: dict[str, str]  # what a driver needs: RAY_AUTH_MODE=token and the token, a HOME of its own
    head: subprocess.Popen[bytes]
    node: subprocess.Popen[bytes]

    def listing(self, what: str) -> list[dict[str, Any]]:
        """``ray list WHAT`` as records (``nodes``, ``tasks``), from the head's state API."""
        cmd = [ray_cli(), "list", what, "--detail", "--format", "json", "--limit", "10000", "--address", self.address]
        res = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=60, check=False)
        assert res.returncode == 0, res.stderr[-2000:]
        return list(json.loads(res.stdout)) if res.stdout.lstrip().startswith("[") else []  # or "No resource ..."


#: A process: its id and its start time (so that a recorded id that the system has since reused is never killed).
Proc = tuple[int, str]


def _table() -> dict[Proc, tuple[int, bytes]]:
    """Every process on the machine: (pid, start time) -> (parent pid, command line)."""
    procs = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            procs[int(entry.name), fields[19]] = (int(fields[1]), cmdline)
    return procs


def _ours(pids: list[int], mark: str = "") -> set[Proc]:
    """The processes below ``pids`` (themselves included), and any whose command line names ``mark``.

    Ray workers lead process groups of their own, so a group kill misses them; they are found as children of
    their raylet, or, once it is gone, by the session folder their raylet and agents name.
    """
    table = _table()
    children: dict[int, list[Proc]] = {}
    for proc, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(proc)
    found = {proc for proc in table if proc[0] in pids or (mark and mark.encode() in table[proc][1])}
    todo = list(found)
    while todo:
        for child in children.get(todo.pop()[0], []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _kill(procs: set[Proc], sig: int = signal.SIGKILL) -> None:
    alive = _table()
    for pid, start in procs:
        if (pid, start) in alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)


def _stop(nodes: list[subprocess.Popen[bytes]], temp: Path) -> None:
    """Stop this test's nodes: SIGTERM to every process they started, then SIGKILL to what is left of them.

    By process, not ``ray stop``, which would stop every Ray on the machine.
    """
    procs = _ours([p.pid for p in nodes if p.poll() is None], str(temp))
    _kill(procs, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while procs & set(_table()) and time.monotonic() < deadline:
        time.sleep(0.2)
    _kill(procs | _ours([], str(temp)))
    for proc in nodes:
        proc.wait(timeout=10)


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``ray start ... --block`` in its own session, its output to ``log`` (shown when it fails to come up)."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [
                ray_cli(),
                "start",
                *args,
                "--num-cpus=1",
                "--node-ip-address=127.0.0.1",
                "--disable-usage-stats",
                "--block",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _node_ports(low: int) -> list[str]:
    """The ports a node listens on, chosen free, so that two nodes on one machine (and other tests) never clash;
    its workers take ports ``low`` to ``low + 99``."""
    return [
        f"--node-manager-port={free_port()}",
        f"--object-manager-port={free_port()}",
        f"--dashboard-agent-listen-port={free_port()}",
        f"--dashboard-agent-grpc-port={free_port()}",
        f"--runtime-env-agent-port={free_port()}",
        f"--metrics-export-port={free_port()}",
        f"--min-worker-port={low}",
        f"--max-worker-port={low + 99}",
    ]


def _worker_ports_low() -> int:
    """The first of 200 worker ports for the two nodes, below the kernel's ephemeral range, where ``free_port``
    picks the nodes' other ports: Ray refuses to start a node whose worker ports include one of its other ports,
    which happened once when the block reached into that range."""
    start = 32768  # Linux's default
    with contextlib.suppress(OSError, ValueError, IndexError):
        start = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    return 20000 + 200 * secrets.randbelow(max(1, (start - 20200) // 200))


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """Head and second node, token authentication on, each with its own --temp-dir; both stopped afterwards."""
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32), "HOME": str(home)}
    env.pop("RAY_ADDRESS", None)
    env.pop("RAY_AUTH_TOKEN_PATH", None)
    temp = Path("/tmp") / f"shock-mn-{secrets.token_hex(4)}"  # short: Ray's socket paths have a length limit
    port, low = free_port(), _worker_ports_low()
    address = f"127.0.0.1:{port}"
    nodes: list[subprocess.Popen[bytes]] = []
    try:
        head_args = [
            "--head",
            f"--port={port}",
            f"--dashboard-port={free_port()}",
            "--dashboard-host=127.0.0.1",
            f"--ray-client-server-port={free_port()}",
            f"--temp-dir={temp / 'head'}",
            *_node_ports(low),
        ]
        logs = [tmp_path / "head.log", tmp_path / "node.log"]
        nodes.append(_start(head_args, env | FAST_HEALTH_CHECK, logs[0]))
        _wait_for(lambda: _answers(port), 60, "the head's GCS did not come up", nodes, logs)
        node_args = [f"--address={address}", f"--temp-dir={temp / 'node'}", *_node_ports(low + 100)]
        nodes.append(_start(node_args, env, logs[1]))
        result = Cluster(address, env, nodes[0], nodes[1])

        def two_alive() -> bool:
            return [n["state"] for n in result.listing("nodes")] == ["ALIVE", "ALIVE"]

        _wait_for(two_alive, 90, "the two nodes did not both come up", nodes, logs)
        yield result
    finally:
        _stop(nodes, temp)
        shutil.rmtree(temp, ignore_errors=True)


def _answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def _wait_for(
    ready: Callable[[], bool],
    seconds: float,
    message: str,
    procs: list[subprocess.Popen[bytes]],
    logs: list[Path] | None = None,
) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        if not all(p.poll() is None for p in procs):
            tails = [f"{log.name}: {log.read_text(errors='replace')[-1500:]}" for log in logs or [] if log.exists()]
            pytest.fail(f"{message}: `ray start` exited\n" + "\n".join(tails))
        if time.monotonic() > deadline:
            pytest.fail(f"{message} within {seconds:g} s")
        time.sleep(0.5)


def _tables(path: Path) -> dict[str, pa.Table]:
    """Results and parameters of a run folder, read back with pyarrow, sorted by their keys."""
    run = open_run(path)
    tables = {"results": run.results_table(), "params": run.params_table()}
    keys = ("scenario_id", "policy", "region")
    return {
        name: t.sort_by([(k, "ascending") for k in keys if k in t.column_names]).replace_schema_metadata(None)
        for name, t in tables.items()
    }


def _shards(path: Path) -> int:
    folder = path / "results"
    return len(list(folder.glob("part-*.parquet"))) if folder.is_dir() else 0


def test_a_node_killed_mid_run_loses_nothing_and_a_driver_without_the_token_is_refused(
    cluster: Cluster, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    run_args = ["run", str(CONFIG), "--draws", str(DRAWS), "--days", str(DAYS), "--batch-size", str(BATCH)]
    driver = _driver([*run_args, "--address", cluster.address, "--out", str(out)], cluster.env)
    # Meanwhile, drivers without the cluster's token: each waits out Ray's ~20 s connect timeout, then is refused.
    no_auth = {k: v for k, v in cluster.env.items() if not k.startswith("RAY_AUTH_")}
    wrong = cluster.env | {"RAY_AUTH_TOKEN": secrets.token_hex(32)}
    small = ["run", str(CONFIG), "--draws", "4", "--days", "60", "--address", cluster.address, "--out"]
    refused = {what: _driver([*small, str(tmp_path / what)], env) for what, env in (("no", no_auth), ("wrong", wrong))}
    try:
        deadline = time.monotonic() + 90
        while _shards(out) < KILL_AFTER and driver.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert driver.poll() is None, "the run ended before the node could be killed: make it longer"
        head_id, node_id = _node_ids(cluster)
        while not _finished_on(cluster, node_id) and driver.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)  # the second node has not finished a task yet: let it, so that both nodes ran some
        assert driver.poll() is None, "the run ended before the node could be killed: make it longer"
        written = _shards(out)
        _kill(_ours([cluster.node.pid]))  # raylet, agents, workers at once: the node is gone
        cluster.node.wait(timeout=30)
        _, err = driver.communicate(timeout=120)
        errors = {what: proc.communicate(timeout=120)[1] for what, proc in refused.items()}
    finally:
        for proc in (driver, *refused.values()):
            if proc.poll() is None:
                _kill(_ours([proc.pid]))
                proc.wait()
    assert driver.returncode == 0, err[-3000:]
    assert written < DRAWS // BATCH

    # The node is dead to the head, and each node finished tasks of the run: the run really spanned two nodes.
    states = {n["node_id"]: n["state"] for n in cluster.listing("nodes")}
    assert states == {head_id: "ALIVE", node_id: "DEAD"}
    tasks = [t for t in cluster.listing("tasks") if t["name"] == "run_batch"]
    finished = [t for t in tasks if t["state"] == "FINISHED"]
    assert {t["node_id"] for t in finished} == {head_id, node_id}
    assert len({t["task_id"] for t in tasks}) == DRAWS // BATCH  # a task per batch; a retry is a new attempt
    assert {t["task_id"] for t in finished} == {t["task_id"] for t in tasks}

    # The tables of the run equal, bit for bit, those of a serial run in this process.
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert len(manifest["shards"]) == DRAWS // BATCH
    clean = tmp_path / "clean"
    run_config(CONFIG, out=str(clean), draws=DRAWS, days=DAYS, executor="serial", batch_size=BATCH)
    on_two_nodes, serial = _tables(out), _tables(clean)
    assert serial["results"].num_rows == DRAWS * 3 * 22
    for name, table in serial.items():
        assert on_two_nodes[name].equals(table), f"{name} differs from the serial run"

    for what, proc in refused.items():
        assert proc.returncode == 2, errors[what][-2000:]
        assert "Traceback" not in errors[what]
        assert f"cannot connect to the Ray cluster at '{cluster.address}' (from --address)" in errors[what]
        assert not (tmp_path / what / "results").exists()
    assert "it most likely wants a token" in errors["no"]
    assert "set RAY_AUTH_MODE=token" in errors["no"]
    assert "check that the token" in errors["wrong"]


def _driver(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    """``shock ARGS`` in a subprocess; its stderr (progress, errors) kept."""
    cmd = [sys.executable, "-m", "cluster", *args]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _node_ids(cluster: Cluster) -> tuple[str, str]:
    """(head's node id, second node's)."""
    nodes = cluster.listing("nodes")
    head = [n["node_id"] for n in nodes if n["is_head_node"]]
    other = [n["node_id"] for n in nodes if not n["is_head_node"]]
    assert len(head) == len(other) == 1, nodes
    return head[0], other[0]


def _finished_on(cluster: Cluster, node_id: str) -> bool:
    return any(t["node_id"] == node_id and t["state"] == "FINISHED" for t in cluster.listing("tasks"))
