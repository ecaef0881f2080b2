"""Helpers shared by the config tests: write a config, compile it to a batch, check that a bad one is refused.

Test modules import them as ``from configs import ...`` (pytest puts the test folder on ``sys.path``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cluster.cli import cli
from cluster.config import ConfigError, load
from cluster.core import ShockBatch
from cluster.plan import Plan


def write_config(tmp_path: Path, text: str, name: str = "c.toml") -> Path:
    """``text`` written to ``tmp_path / name``."""
    path = tmp_path / name
    path.write_text(text)
    return path


def compile_config(path: Path) -> tuple[Plan, np.ndarray, ShockBatch]:
    """The plan of a config, the drawn values of all its scenarios and their (validated) batch."""
    plan = Plan.from_config(load(path))
    ids = np.arange(plan.n_scenarios)
    values = plan.draw(ids)
    batch = plan.shocks(ids, values)
    batch.validate(plan.baseline)
    return plan, values, batch


def assert_refused(path: Path, key: str, hint: str) -> str:
    """``load`` refuses the config with one message that starts with its path, names ``[key]`` and holds ``hint``;
    ``shock validate`` exits with 2 and one line, no traceback. Returns the message."""
    with pytest.raises(ConfigError) as err:
        load(path)
    message = str(err.value)
    assert message.startswith(f"{path}: ")
    assert f"[{key}]" in message, message
    assert hint in message, message
    res = CliRunner().invoke(cli, ["validate", str(path)])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    assert f"[{key}]" in res.output
    return message
