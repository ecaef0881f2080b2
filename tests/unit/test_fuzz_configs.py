"""Fuzzing the configs: mutated shipped configs, garbage bytes and truncated TOML through ``shock validate`` and
``shock run``. Every case ends in exit 0, or exit 2 with one ``error: ...`` line on stderr naming the file; never
a traceback, never a half-written run folder.

Hypothesis runs derandomized (its seed derived from each test's name) and without an example database: CI runs
the same few hundred cases every time. ``SHOCK_FUZZ_EXAMPLES=5000`` explores further locally (more cases from the
same seed). The many fast cases run ``shock validate --no-estimate``; a smaller strategy runs the estimate (a
short simulation) and ``shock run`` on two draws.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import tomllib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from cluster.cli import cli
from cluster.config import ConfigError, load

CONFIGS = Path(__file__).parents[2] / "configs"
SHIPPED = {path.stem: path for path in sorted(CONFIGS.glob("*.toml"))}
DOCS = {name: tomllib.loads(path.read_text(encoding="utf-8")) for name, path in SHIPPED.items()}
TEXTS = {name: path.read_text(encoding="utf-8") for name, path in SHIPPED.items()}

#: Validate cases per strategy; ``SHOCK_FUZZ_EXAMPLES`` raises it for a local exploration.
EXAMPLES = int(os.environ.get("SHOCK_FUZZ_EXAMPLES", "400"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=dt.timedelta(seconds=5),  # a validate takes milliseconds; seconds mean a hang on some value
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
RUN_FUZZ = settings(FUZZ, max_examples=max(EXAMPLES // 6, 25), deadline=dt.timedelta(seconds=30))


# --- a TOML writer (tomli_w is not a dependency) ------------------------------------------------------------
def _string(text: str) -> str:
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_string(str(k))} = {_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def dumps(doc: dict[str, Any]) -> str:
    """``doc`` as TOML: every top-level key on its own line, tables inline (what ``tomllib`` reads back)."""
    return "".join(f"{_string(str(k))} = {_value(v)}\n" for k, v in doc.items())


def test_the_writer_round_trips() -> None:
    for doc in DOCS.values():
        assert tomllib.loads(dumps(doc)) == doc
    odd = {"a\nb": [math.inf, -0.0, 2**70, 'x\x00"\\', dt.date(1, 1, 1), dt.time(1, 2), {}, [[]]]}
    back = tomllib.loads(dumps(odd))
    assert back.keys() == odd.keys()
    assert back["a\nb"][1:] == odd["a\nb"][1:]


# --- mutations of a parsed config -----------------------------------------------------------------------------
Path_ = tuple[Any, ...]


def _paths(node: Any, here: Path_ = ()) -> list[Path_]:
    """Every path to a value inside ``node`` (keys of tables, indices of arrays), depth first."""
    out: list[Path_] = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        out.append((*here, key))
        out += _paths(child, (*here, key))
    return out


def _tables(node: Any, here: Path_ = ()) -> list[Path_]:
    out: list[Path_] = [here] if isinstance(node, dict) else []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        out += _tables(child, (*here, key))
    return out


def _get(doc: Any, path: Path_) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def _copy(doc: Any) -> Any:
    if isinstance(doc, dict):
        return {k: _copy(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_copy(v) for v in doc]
    return doc


#: Labels and names a config uses, right and wrong, so that mutations hit the checks behind the type checks.
NAMES = [
    "default", "machinery", "electronics", "construction", "oil_gas_mining", "steel", "EU", "OSP", "BY", "RU",
    "BY-MI", "RU-CE", "Mars", "R00", "S01", "status_quo", "counter_trade", "by_machinery", "minsk_machinery",
    "uniform", "triangular", "beta", "lognormal", "bernoulli", "categorical", "low", "high", "median", "sigma",
    "values", "weights", "forever", "monte_carlo", "sobol", "latin_hypercube", "weekly", "none", "ru-by",
    "synthetic", "pymrio-test", "atlantis", "2022-02-24", "",
]  # fmt: skip
KEYS = [
    "run", "economy", "sanctions", "ario", "prices", "demand", "adaptation", "projects", "policies", "output",
    "name", "seed", "draws", "days", "design", "batch_size", "out", "start", "id", "path", "kind", "concordance",
    "domestic", "targets", "packages", "onset", "duration", "end", "coalition", "import_ban", "export_ban",
    "divertible", "leakage", "leakage_premium", "substitutability", "substitution_tau", "alpha_max", "psi",
    "inventory_days", "region", "sector", "capacity", "capacity_share", "capex", "capex_sectors", "signed",
    "lead_time_years", "success", "ramp_days", "include", "cooperation", "weight", "speedup", "friendly",
    "efficiency", "discount", "lag_days", "level", "tau", "export_discount", "change", "regions", "sectors",
    "buyers", "diversion", "expansion", "trajectories", "draw", "onsett", "Machinery",
]  # fmt: skip
EXTREME = [
    0, -1, 1, 2, -0.0, 0.5, 1.0000001, 1e-300, 5e-324, 1e308, -1e308, 2**31, 2**53 + 1, 2**63 - 1, -(2**63),
    2**64, 10**30, -(10**30), math.nan, math.inf, -math.inf, 365, 366, 1461, 100_000,
]  # fmt: skip
BAD_DISTS = [
    {"uniform": [1.0, 0.0]}, {"uniform": [0.2]}, {"uniform": "0.2"}, {"uniform": [0.1, 0.2], "low": 0},
    {"triangular": [0.0, 2.0, 1.0]}, {"triangular": [0, 0, 0]}, {"beta": [-1, 2]}, {"beta": [0, 0]},
    {"beta": [2, 2], "low": 1, "high": 0}, {"beta": [2, 2], "low": -5, "high": 5}, {"beta": [1e308, 1e-308]},
    {"lognormal": {"median": 0, "sigma": 1}}, {"lognormal": {"median": 1, "sigma": -1}}, {"lognormal": [1, 2]},
    {"lognormal": {"median": 1e308, "sigma": 1e308}}, {"lognormal": {"median": 1, "sigma": 50}},
    {"lognormal": {"median": 1}}, {"bernoulli": 2}, {"bernoulli": -0.5}, {"bernoulli": [0.5]},
    {"categorical": {"values": [], "weights": []}}, {"categorical": {"values": [1, 2], "weights": [0, 0]}},
    {"categorical": {"values": [0.1, 0.2], "weights": [1e308, 1e308]}}, {"categorical": {"values": [0.1]}},
    {"categorical": {"values": [0.1, 0.2], "weights": [-1, 2]}}, {"categorical": [1, 2]},
    {"gauss": [0, 1]}, {"uniform": [0, 1], "beta": [1, 1]}, {"low": 0, "high": 1}, {}, {"default": {}},
    {"default": {"uniform": [0.5, 0.1]}}, {"uniform": [0.0, 0.3]}, {"beta": [2, 2]}, {"bernoulli": 0.5},
]  # fmt: skip
DATES = [
    dt.date(1, 1, 1), dt.date(9999, 12, 31), dt.date(2022, 2, 24), dt.date(2021, 12, 31),
    dt.datetime(2022, 2, 24, 12, 0), dt.time(12, 30), dt.datetime(2022, 2, 24, tzinfo=dt.UTC),
]  # fmt: skip

scalars = st.one_of(
    st.sampled_from(EXTREME),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.sampled_from(NAMES),
    st.text(max_size=12),
    st.sampled_from(DATES),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(NAMES + KEYS), st.text(max_size=8)), inner, max_size=3),
    ),
    max_leaves=8,
)
any_value = st.one_of(values, st.sampled_from(BAD_DISTS), st.sampled_from([{}, [], ""])).map(_copy)  # fresh objects


@st.composite
def mutation(draw: st.DrawFn, doc: dict[str, Any]) -> str:
    """Change ``doc`` in place once; returns what was done (shown when a case fails)."""
    paths, tables = _paths(doc), _tables(doc)
    how = draw(
        st.sampled_from(
            ["delete", "add", "replace", "extreme", "empty", "dist", "rename", "duplicate", "date", "swap_names"]
        )
    )
    if how == "add" or not paths:
        where = draw(st.sampled_from(tables))
        key = draw(st.one_of(st.sampled_from(KEYS + NAMES), st.text(min_size=1, max_size=10)))
        _get(doc, where)[key] = draw(any_value)
        return f"add {where}.{key!r}"
    path = draw(st.sampled_from(paths))
    parent, last = _get(doc, path[:-1]), path[-1]
    if how == "delete":
        del parent[last]
    elif how == "replace":
        parent[last] = draw(any_value)
    elif how == "extreme":
        parent[last] = draw(st.sampled_from(EXTREME))
    elif how == "empty":
        parent[last] = _copy(draw(st.sampled_from([{}, [], ""])))
    elif how == "dist":
        parent[last] = _copy(draw(st.sampled_from(BAD_DISTS)))
    elif how == "date":
        parent[last] = draw(st.sampled_from(DATES))
    elif how == "rename" and isinstance(parent, dict):  # an unknown (or another known) label, region or name
        new = draw(st.one_of(st.sampled_from(NAMES + KEYS), st.text(min_size=1, max_size=8)))
        parent[new] = parent.pop(last)
    elif how == "duplicate" and isinstance(parent, list):
        parent.append(_copy(parent[last]))
    elif how == "swap_names":  # a string value replaced by another name of the config, or an unknown one
        parent[last] = draw(st.sampled_from(NAMES))
    else:
        parent[last] = draw(scalars)
    return f"{how} {path}"


@st.composite
def mutated(draw: st.DrawFn, most: int = 3) -> tuple[str, str]:
    """(description, TOML text) of a shipped config with one to ``most`` mutations."""
    name = draw(st.sampled_from(sorted(DOCS)))
    doc = _copy(DOCS[name])
    done = [draw(mutation(doc)) for _ in range(draw(st.integers(1, most)))]
    return f"{name}: {'; '.join(done)}", dumps(doc)


#: Values a number of a config may well take: bounds, zeros, ones and the extremes the limits allow.
PLAUSIBLE = [0, 0.0, 1, 1.0, 0.5, 1e-9, 1e-6, 2, 10, 1.25, 60, 365, 99_999, 100_000, 1e6]
GOOD_DISTS = [
    {"uniform": [0.0, 1.0]}, {"uniform": [0.0, 0.0]}, {"bernoulli": 0.5}, {"bernoulli": 1.0}, {"beta": [0.5, 0.5]},
    {"beta": [1e-3, 1e3]}, {"triangular": [0.0, 0.0, 1.0]}, {"categorical": {"values": [0.0, 1.0], "weights": [1, 0]}},
    {"lognormal": {"median": 1.0, "sigma": 20.0}}, {"lognormal": {"median": 1e-9, "sigma": 0.0}},
    {"beta": [2, 2], "low": 0.0, "high": 1.0}, {"default": 1.0}, {"default": 0.0},
]  # fmt: skip


@st.composite
def tweaked(draw: st.DrawFn) -> tuple[str, str]:
    """(description, TOML text) of a shipped config with one number or distribution set to a plausible extreme,
    or one key deleted: configs that often validate, for ``shock run``."""
    name = draw(st.sampled_from(sorted(DOCS)))
    doc = _copy(DOCS[name])
    paths = _paths(doc)
    numbers = [p for p in paths if isinstance(_get(doc, p), int | float) and not isinstance(_get(doc, p), bool)]
    how = draw(st.sampled_from(["number", "number", "dist", "delete"]))
    path = draw(st.sampled_from(numbers if how == "number" else paths))
    parent, last = _get(doc, path[:-1]), path[-1]
    if how == "delete" and isinstance(parent, dict):
        del parent[last]
    elif how == "dist" and isinstance(parent, dict):
        parent[last] = _copy(draw(st.sampled_from(GOOD_DISTS)))
    else:
        parent[last] = draw(st.sampled_from(PLAUSIBLE))
    return f"{name}: {how} {path}", dumps(doc)


@st.composite
def garbled(draw: st.DrawFn) -> tuple[str, bytes]:
    """(description, bytes) of a shipped config truncated, spliced with garbage, or garbage alone."""
    name = draw(st.sampled_from(sorted(TEXTS)))
    text = TEXTS[name].encode()
    how = draw(st.sampled_from(["truncate", "insert", "overwrite", "garbage", "repeat_line", "empty"]))
    at = draw(st.integers(0, len(text)))
    if how == "truncate":
        data = text[:at]
    elif how == "insert":
        data = text[:at] + draw(st.binary(min_size=1, max_size=16)) + text[at:]
    elif how == "overwrite":
        junk = draw(st.binary(min_size=1, max_size=16))
        data = text[:at] + junk + text[at + len(junk) :]
    elif how == "repeat_line":  # a key or table given twice
        lines = text.splitlines(keepends=True)
        k = draw(st.integers(0, len(lines) - 1))
        data = b"".join([*lines[: k + 1], lines[k], *lines[k + 1 :]])
    elif how == "empty":
        data = draw(st.sampled_from([b"", b"\n", b"# only a comment\n", b"\xef\xbb\xbf", b"[run]\n"]))
    else:
        data = draw(st.binary(max_size=200))
    return f"{name}: {how} at {at}", data


# --- the checks -------------------------------------------------------------------------------------------------
def _invoke(args: list[str]) -> Result:
    return CliRunner().invoke(cli, args, catch_exceptions=True)


def check_outcome(res: Result, shown: str, path: Path | None = None) -> None:
    """Exit 0, or exit 2 with one ``error:`` line on stderr (naming ``path`` when given); nothing else."""
    if res.exit_code == 0:
        return
    detail = f"{shown}\nexit {res.exit_code}\nstderr: {res.stderr!r}\nexception: {res.exception!r}"
    if res.exc_info is not None and res.exit_code not in (0, 2):
        import traceback

        detail += "\n" + "".join(traceback.format_exception(*res.exc_info)[-6:])
    assert res.exit_code == 2, detail
    assert res.stderr.startswith("error: "), detail
    assert res.stderr.count("\n") == 1, detail
    assert res.stderr.endswith("\n"), detail
    if path is not None:
        assert str(path) in res.stderr, detail


def _validate(tmp: Path, data: bytes, shown: str) -> Result:
    path = tmp / "fuzzed.toml"
    path.write_bytes(data)
    res = _invoke(["validate", str(path), "--no-estimate"])
    note(shown)
    check_outcome(res, f"{shown}\n--- config ---\n{data.decode('utf-8', 'replace')}", path)
    return res


@pytest.fixture(scope="module")
def tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@FUZZ
@given(case=mutated())
def test_mutated_configs_validate_or_fail_in_one_line(tmp: Path, case: tuple[str, str]) -> None:
    shown, text = case
    _validate(tmp, text.encode(), shown)


@FUZZ
@given(case=garbled())
def test_garbled_configs_validate_or_fail_in_one_line(tmp: Path, case: tuple[str, bytes]) -> None:
    shown, data = case
    _validate(tmp, data, shown)


def _run_folder_is_complete(out: Path, draws: int) -> None:
    from cluster.store import open_run

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete", manifest.get("status")
    run = open_run(out)
    assert run.status == "complete"
    assert manifest["draws"] == draws
    for table in ("results", "params", "periods"):
        assert any((out / table).glob("*.parquet")), table


@RUN_FUZZ
@given(case=st.one_of(tweaked(), mutated(most=1)), days=st.sampled_from([60, 60, 60, 3]), estimate=st.booleans())
def test_mutated_configs_run_whole_or_not_at_all(
    tmp_path_factory: pytest.TempPathFactory, case: Any, days: int, estimate: bool
) -> None:
    """``shock validate`` with its estimate, then ``shock run``: exit 0 with a complete run folder, or exit 2
    with no run folder at all."""
    shown, text = case
    here = tmp_path_factory.mktemp("run")
    path, out = here / "fuzzed.toml", here / "run"
    path.write_text(text, encoding="utf-8")
    note(shown)
    shown = f"{shown}\n--- config ---\n{text}"
    size = ["--draws", "2", "--days", str(days)]
    if estimate:  # a short simulation of the config: as much a run as the run itself
        check_outcome(_invoke(["validate", str(path), *size, "--cores", "1"]), shown, path)
    res = _invoke(["run", str(path), "--executor", "serial", *size, "--out", str(out)])
    check_outcome(res, shown, path)
    event(f"run exit {res.exit_code}: {res.stderr.split(']')[0][-40:]}")
    if res.exit_code == 0:
        _run_folder_is_complete(out, 2)
    else:
        assert not out.exists(), f"{shown}: exit 2 left {sorted(p.name for p in out.iterdir())} in the run folder"


def test_shipped_configs_survive_the_writer(tmp_path: Path) -> None:
    """The fuzzer's starting points are valid: each written back validates with exit 0."""
    for name, doc in DOCS.items():
        path = tmp_path / f"{name}.toml"
        path.write_text(dumps(doc), encoding="utf-8")
        res = _invoke(["validate", str(path), "--no-estimate"])
        assert res.exit_code == 0, res.output


# --- regressions: one plain case per bug the fuzzer found ---------------------------------------------------
def _smoke(**tables: dict[str, Any]) -> dict[str, Any]:
    """configs/smoke.toml with keys of some tables replaced (``None`` deletes a key)."""
    doc = _copy(DOCS["smoke"])
    for where, keys in tables.items():
        table = doc
        for part in where.split("__"):
            table = table.setdefault(part, {})
        for key, value in keys.items():
            if value is None:
                table.pop(key, None)
            else:
                table[key] = value
    return doc


def _refused(tmp_path: Path, doc: dict[str, Any], *needles: str) -> str:
    """``shock validate`` refuses ``doc`` with exit 2 and one line naming the file and holding every needle."""
    path = tmp_path / "c.toml"
    path.write_text(dumps(doc), encoding="utf-8")
    res = _invoke(["validate", str(path), "--no-estimate"])
    check_outcome(res, dumps(doc), path)
    assert res.exit_code == 2, res.output
    for needle in needles:
        assert needle in res.stderr, res.stderr
    with pytest.raises(ConfigError):
        load(path)
    return res.stderr


#: Inputs that ended in a traceback (exit 1) before; each is now one line naming the key and the fix.
#: (name, tables to change, needles of the message)
TRACEBACKS: dict[str, tuple[dict[str, dict[str, Any]], tuple[str, ...]]] = {
    # TypeError: Object of type date is not JSON serializable (showing the bad value)
    "a date inside a bad table": ({"run": {"draw": {"when": dt.date(2022, 1, 1)}}}, ("[run.draw]", "2022-01-01")),
    # TypeError: unhashable type: 'dict' / 'list'; 'int' object is not iterable
    "a table among included policies": ({"policies__all_levers": {"include": [{"a": 1}]}}, ("list of policy",)),
    "a list among the projects": ({"policies__all_levers": {"projects": [["x"]]}}, ("list of project names",)),
    "include a number": ({"policies__all_levers": {"include": 5}}, ("[policies.all_levers.include]",)),
    "concordance a number": ({"economy": {"concordance": 5}}, ("[economy.concordance]", "non-empty string")),
    "domestic a number": ({"economy": {"domestic": 5}}, ("[economy.domestic]", "list of region labels")),
    "domestic nested lists": ({"economy": {"domestic": [["BY-MI"]]}}, ("[economy.domestic]",)),
    "a NUL in the path": ({"economy": {"id": None, "path": "a\x00b"}}, ("[economy.path]",)),
    # OverflowError: int too large to convert to float
    "an integer beyond any float": ({"projects__minsk_machinery": {"capex": 10**400}}, ("minsk_machinery.capex]",)),
    # OverflowError: date value out of range (the calendar of the horizon)
    "a horizon past the year 9999": ({"run": {"start": dt.date(9999, 12, 1)}}, ("[run.start]", "year 9999")),
    # At run time (shock run): OverflowError in the plan's integer days, MemoryError for the lag's buffer,
    # RuntimeWarning (overflow, invalid cast) in the draws and the core: now refused at load.
    "a huge ramp": ({"projects__minsk_machinery": {"ramp_days": 10**23}}, ("ramp_days]", "100,000 days")),
    "a huge lag": ({"policies__counter_trade__counter_trade": {"lag_days": 10**15}}, ("lag_days]", "100,000 days")),
    "a duration of 1e308": ({"sanctions": {"duration": 1e308}}, ("[sanctions.duration]", "100,000 days")),
    "a lead time of 1e308": ({"projects__minsk_machinery": {"lead_time_years": 1e308}}, ("lead_time_years]",)),
    "signed on day 1e308": ({"projects__minsk_machinery": {"signed": 1e308}}, ("[projects.minsk_machinery.signed]",)),
    "capex of 1e308": ({"projects__minsk_machinery": {"capex": 1e308}}, ("capex]", "check the unit")),
    "a leakage premium of 1e308": ({"sanctions": {"leakage_premium": 1e308}}, ("leakage_premium]", "at most 1e+06")),
    "inventory of 1e308 days": ({"ario": {"inventory_days": 1e308}}, ("[ario.inventory_days]",)),
    "a speed-up of 1e308": ({"policies__all_levers__cooperation": {"speedup": 1e308}}, ("speedup]",)),
    "a lognormal sigma of 1e300": (
        {"sanctions": {"substitution_tau": {"lognormal": {"median": 100, "sigma": 1e300}}}},
        ("sigma]", "<= 20"),
    ),
    "categorical weights that overflow": (
        {"sanctions": {"leakage_premium": {"categorical": {"values": [0.1, 0.2], "weights": [1e308, 1e308]}}}},
        ("weights]", "overflow"),
    ),
    # validate took seconds per million days (its calendar), a run ran out of memory
    "a horizon of ten million days": ({"run": {"days": 10**7}}, ("[run.days]", "<= 100000")),
}  # fmt: skip


@pytest.mark.parametrize("case", list(TRACEBACKS), ids=list(TRACEBACKS))
def test_regression_refused_in_one_line(tmp_path: Path, case: str) -> None:
    tables, needles = TRACEBACKS[case]
    _refused(tmp_path, _smoke(**tables), *needles)


def test_regression_an_economy_id_with_a_path_is_refused_first(tmp_path: Path) -> None:
    """Not a bug; the order of the checks: id and path together are refused before their types are checked."""
    _refused(tmp_path, _smoke(economy={"path": 5}), "[economy]", "either id or path")


@pytest.mark.parametrize("key", ["\n", "a\nb", "x\u2028y", "\x1b[31m"])
def test_regression_a_key_with_a_line_break_is_one_line(tmp_path: Path, key: str) -> None:
    """An unknown key holding a line break printed two lines on stderr; control characters are escaped now."""
    stderr = _refused(tmp_path, _smoke(run={key: 1}), "unknown key")
    assert repr(key)[1:-1] in stderr


def test_regression_limits_leave_the_shipped_configs_alone() -> None:
    """The practical limits (100,000 days, a factor of 1e6) refuse none of the shipped configs."""
    for path in SHIPPED.values():
        assert load(path).days <= 100_000
