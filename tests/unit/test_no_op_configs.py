"""A config that simulates nothing is refused: an empty file, bans with nobody to impose them, a coalition with no
ban. Its run would be thousands of identical draws of the baseline (issue 10, "no silent no-ops")."""

from __future__ import annotations

from pathlib import Path

import pytest

from cluster.config import load
from configs import assert_refused, write_config

NOTHING = "this config simulates nothing"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[economy]\nid = 'ru-by'\n",
        "[sanctions]\ncoalition = {default = 0.0}\nexport_ban = 0.5\n",  # bans, but nobody imposes them
        "[sanctions]\ncoalition = {EU = 1.0}\nimport_ban = 0.0\nexport_ban = {default = 0.0}\n",  # nothing banned
        "[sanctions.packages.a]\nonset = 10\n[sanctions.packages.b]\nexport_ban = {uniform = [0.0, 0.0]}\n",
        "[prices]\nlevel = 0.0\n[demand.d]\nchange = 0.0\n",
        "[projects.p]\nregion = 'BY-MI'\nsector = 'machinery'\ncapacity = 1.0\n",  # no policy builds it
    ],
)
def test_a_config_that_moves_nothing_is_refused(tmp_path: Path, text: str) -> None:
    message = assert_refused(write_config(tmp_path, text), "sanctions", NOTHING)
    assert "configs/smoke.toml" in message


@pytest.mark.parametrize(
    "text",
    [
        "[sanctions]\nexport_ban = {oil_gas_mining = {uniform = [0.0, 0.2]}}\n",  # the economy's coalition tags
        "[demand.d]\nchange = -0.05\n",
        "[prices]\nlevel = {oil_gas_mining = 0.4}\n",
        "[projects.p]\nregion = 'BY-MI'\nsector = 'machinery'\ncapacity = 1.0\n[policies.build]\nprojects = ['p']\n",
    ],
)
def test_any_one_thing_that_moves_is_enough(tmp_path: Path, text: str) -> None:
    load(write_config(tmp_path, text))
