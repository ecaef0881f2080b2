"""``shock report`` end to end: real runs of the smoke config (with weekly trajectories and without), their
reports built by the library function, and each page opened in a real headless Chromium (Debian's ``chromium``,
driven by Playwright): no console error, no request leaving the file, every figure drawn and not blank, the
regions' long names and the policies on the page.

A full-page screenshot of each report is kept in ``tests/artifacts/`` (ignored by git; CI can keep the folder),
or in ``$SHOCK_TEST_ARTIFACTS`` when set; the test prints where.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cluster.config import from_dict
from cluster.errors import InputError
from cluster.report import report
from cluster.runs import run_config
from cluster.store import open_run

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[2]
SMOKE = ROOT / "configs" / "smoke.toml"
ARTIFACTS = Path(os.environ.get("SHOCK_TEST_ARTIFACTS", ROOT / "tests" / "artifacts"))
#: A figure whose grey levels vary less than this (0-255 scale) is blank, or nearly.
MIN_VARIANCE = 50.0


def _make_run(base: Path, name: str, *, weekly: bool) -> Path:
    raw = tomllib.loads(SMOKE.read_text(encoding="utf-8"))
    raw["run"].update(draws=24, days=70)
    if weekly:
        raw["output"] = {"trajectories": "weekly"}
    config = from_dict(raw, source=str(SMOKE), base=SMOKE.parent, name=SMOKE.stem)
    out = base / name
    run_config(config, executor="serial", out=str(out), batch_size=8)
    return out


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The smoke config's runs, with weekly trajectories and without, and each one's report in its run folder."""
    base = tmp_path_factory.mktemp("report")
    out = {}
    for name, weekly in (("weekly", True), ("quarterly", False)):
        run = _make_run(base, name, weekly=weekly)
        path = Path(report(str(run)))
        assert path == run / "report.html"
        out[name] = path
    return out


def test_the_report_is_one_self_contained_file(reports: dict[str, Path]) -> None:
    for name, path in reports.items():
        text = path.read_text(encoding="utf-8")
        assert text.startswith("<!DOCTYPE html>")
        for prolog in ("<?xml", "<!DOCTYPE svg"):
            assert prolog not in text, name
        # nothing fetched: no script, no stylesheet or image by reference, no URL but the SVG namespaces
        for tag in ("<script", "<link", "<img", "<iframe"):
            assert tag not in text, name
        urls = set(re.findall(r"(?:https?:)?//[\w.-]+[^\s\"')<]*", text))
        assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}, urls
        ids = re.findall(r'\bid="([^"]+)"', text)
        assert len(ids) == len(set(ids)), "duplicate element ids across the inline SVGs"
    weekly, quarterly = (reports[k].read_text(encoding="utf-8") for k in ("weekly", "quarterly"))
    assert "weekly trajectories" in weekly
    assert "quarterly period rows" in quarterly


def test_out_and_baseline(reports: dict[str, Path], tmp_path: Path) -> None:
    run = open_run(reports["quarterly"].parent)
    path = report(run, str(tmp_path / "sub" / "other.html"), baseline="counter_trade")
    text = Path(path).read_text(encoding="utf-8")
    assert path == str(tmp_path / "sub" / "other.html")
    assert "Policies against counter_trade, draw by draw" in text
    assert "baseline: <b>counter_trade</b>" in text
    with pytest.raises(InputError, match=r"no policy 'nothing'.*status_quo, counter_trade, all_levers"):
        report(run, str(tmp_path / "x.html"), baseline="nothing")
    assert not (tmp_path / "x.html").exists()


def _grey(png: bytes) -> np.ndarray[Any, np.dtype[np.float64]]:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.float64)


@pytest.mark.parametrize("name", ["weekly", "quarterly"])
def test_the_report_renders_in_chromium(reports: dict[str, Path], name: str) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium; .ci/run installs it)")
    from playwright.sync_api import Request, Route, sync_playwright

    path = reports[name]
    manifest = open_run(path.parent).manifest
    policies = manifest["policies"]
    targets = manifest["config"]["economy"]["targets"]
    long_names = [n for r, n in zip(manifest["regions"], manifest["region_names"], strict=True) if r in targets]
    expected = len(re.findall(r'<figure class="plot"', path.read_text(encoding="utf-8")))
    assert expected >= 9  # countries, regions per country, paired, fans, regional, sensitivity, worst, convergence

    errors: list[str] = []
    outside: list[str] = []

    def route(r: Route, request: Request) -> None:
        if request.url.startswith(("file:", "data:")):
            r.continue_()
        else:
            outside.append(request.url)
            r.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.route("**/*", route)
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(path.as_uri(), wait_until="load")
            figures = page.locator("figure.plot")
            assert figures.count() == expected
            for i in range(expected):
                svg = figures.nth(i).locator("svg")
                assert svg.count() == 1, f"figure {i} has no SVG"
                box = svg.bounding_box()
                assert box is not None, f"figure {i} is not laid out"
                assert box["width"] > 300, (i, box)
                assert box["height"] > 100, (i, box)
                grey = _grey(svg.screenshot())
                assert grey.var() > MIN_VARIANCE, f"figure {i} ({figures.nth(i).get_attribute('id')}) is blank"
                assert np.mean(grey < 200) > 0.01, f"figure {i} is nearly empty"
            body = page.inner_text("body")
            for text in [*policies, *long_names]:
                assert text in body, f"{text!r} is not on the page"
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shot = ARTIFACTS / f"report-{name}.png"
            page.screenshot(path=str(shot), full_page=True)
            print(f"full-page screenshot: {shot}")
        finally:
            browser.close()
    assert not errors, errors
    assert not outside, f"the page asked the network for {outside}"
