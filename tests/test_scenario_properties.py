"""The scenario API cannot be corrupted by accident, and refuses bad input in one line.

A property test drives the loader and ``with_overrides`` with generated TOML and overrides:
each either gives a valid, immutable scenario or raises ``HourglassError`` with a one-line
message, never another exception (issue 11 §4).
"""

import math
import string

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulation import HourglassError, Scenario, parameter_specs
from simulation.scenario import ParameterSpec

NAMES = sorted(parameter_specs())
SECTIONS = sorted({n.split(".")[0] for n in NAMES})


def test_list_values_cannot_be_changed_and_do_not_leak():
    s = Scenario.load("baseline")
    before = s["transfer.informal"]
    with pytest.raises(TypeError):
        s["transfer.informal"][0] = 0.99
    with pytest.raises(TypeError):
        s.values["levers.trust"] = 5
    with pytest.raises(AttributeError):
        s.values = {}
    assert isinstance(before, tuple)
    assert Scenario.load("baseline")["transfer.informal"] == before
    assert Scenario.default()["transfer.informal"] == before
    assert parameter_specs()["transfer.informal"].default == before


def test_values_cannot_be_edited_around_validation():
    values = dict(Scenario.load("baseline").values)
    values["levers.trust"] = 5
    with pytest.raises(HourglassError, match=r"levers\.trust = 5 is not allowed"):
        Scenario(values=values, name="edited")
    del values["levers.trust"]
    with pytest.raises(HourglassError, match=r"no value for levers\.trust"):
        Scenario(values=values, name="edited")
    with pytest.raises(HourglassError, match="values must be a mapping"):
        Scenario(values=[("levers.trust", 0.5)], name="edited")


def test_numpy_scalars_and_arrays_are_accepted():
    s = Scenario.load("baseline").with_overrides({
        "levers.trust": np.float64(0.25), "run.months": np.int64(12),
        "transfer.informal": np.array([0.1, 0.2, 0.3, 0.4]),
    })
    assert s["levers.trust"] == 0.25
    assert type(s["run.months"]) is int
    assert s["run.months"] == 12
    assert s["transfer.informal"] == (0.1, 0.2, 0.3, 0.4)
    flag = ParameterSpec(name="x.flag", kind="bool", default=False)
    assert flag.check(np.bool_(True), "here") is True


@pytest.mark.parametrize("overrides", [None, [("levers.trust", 0.5)], "levers.trust=0.5"])
def test_overrides_that_are_not_a_mapping_are_refused(overrides):
    with pytest.raises(HourglassError, match="expected a mapping") as err:
        Scenario.load("baseline").with_overrides(overrides)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("key", [None, 3, ("levers", "trust"), 1.5])
def test_keys_that_are_not_strings_are_refused(key):
    with pytest.raises(HourglassError, match="keys must be") as err:
        Scenario.load("baseline").with_overrides({key: 0.5})
    assert "\n" not in str(err.value)
    with pytest.raises(HourglassError, match="keys must be"):
        Scenario.from_dict({key: 0.5})


def _assert_valid(scenario):
    assert isinstance(scenario, Scenario)
    assert set(scenario.values) == set(NAMES)
    for value in scenario.values.values():
        assert not isinstance(value, list | dict | np.ndarray)
        if isinstance(value, float):
            assert math.isfinite(value)


def _one_line(error):
    message = str(error)
    assert message
    assert "\n" not in message
    assert "\r" not in message


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.integers(),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from([np.float64(0.5), np.int64(3), np.bool_(True), np.float32(0.25),
                     np.int32(2), np.float64("nan")]),
)
values = st.one_of(scalars, st.lists(scalars, max_size=5),
                   st.lists(st.floats(0, 1), min_size=4, max_size=4))
keys = st.one_of(st.sampled_from(NAMES), st.text(max_size=20), st.none(), st.integers(),
                 st.sampled_from(["trust", "levers.", ".", "levers.trust.x", "\x1b[31m",
                                  "levers.tr\nust"]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(keys, values, max_size=6))
def test_with_overrides_loads_or_refuses_in_one_line(overrides):
    base = Scenario.load("baseline")
    try:
        scenario = base.with_overrides(overrides)
    except HourglassError as error:
        _one_line(error)
    else:
        _assert_valid(scenario)


toml_keys = st.one_of(st.sampled_from([n.split(".", 1)[1] for n in NAMES]),
                      st.text(string.ascii_letters + "_", min_size=1, max_size=10))


def toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.encode("unicode_escape").decode("ascii").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return repr(value)


toml_scalars = st.one_of(st.booleans(), st.integers(-10**4, 10**4),
                         st.floats(allow_nan=True), st.text(max_size=8))
toml_values = st.one_of(toml_scalars, st.lists(st.floats(0, 1), min_size=1, max_size=5))


@st.composite
def toml_documents(draw):
    lines = []
    if draw(st.booleans()):
        lines.append(f"description = {toml_value(draw(st.text(max_size=20)))}")
    if draw(st.booleans()):
        lines.append(f"extends = {toml_value(draw(st.sampled_from(['baseline', 'nope', 3])))}")
    sections = draw(st.lists(st.one_of(st.sampled_from(SECTIONS),
                                       st.text(string.ascii_lowercase, min_size=1, max_size=8)),
                             max_size=3, unique=True))
    for section in sections:
        lines.append(f"[{section}]")
        entries = draw(st.dictionaries(toml_keys, toml_values, max_size=4))
        lines.extend(f"{key} = {toml_value(value)}" for key, value in entries.items())
    return "\n".join(lines) + "\n"


@settings(max_examples=200, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(document=st.one_of(toml_documents(), st.text(max_size=60)),
       bom=st.booleans())
def test_loader_loads_or_refuses_in_one_line(tmp_path, document, bom):
    path = tmp_path / "generated.toml"
    path.write_text(document, encoding="utf-8-sig" if bom else "utf-8")
    try:
        scenario = Scenario.load(path)
    except HourglassError as error:
        _one_line(error)
    else:
        _assert_valid(scenario)


@settings(max_examples=100, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=60))
def test_loader_refuses_arbitrary_bytes_in_one_line(tmp_path, data):
    path = tmp_path / "bytes.toml"
    path.write_bytes(data)
    try:
        scenario = Scenario.load(path)
    except HourglassError as error:
        _one_line(error)
    else:
        _assert_valid(scenario)


@pytest.mark.parametrize(("seed", "recorded"), [(np.int64(5), 5), (7, 7),
                                                (np.random.default_rng(3), None), (None, None)])
def test_result_write_records_any_seed_numpy_users_pass(tmp_path, seed, recorded):
    import json

    from simulation import Result

    monthly = {"month": np.array([1, 2]), "engaged": np.array([0.1, 0.2])}
    result = Result(summary={"engaged": 0.2}, monthly=monthly,
                    scenario=Scenario.load("baseline"), seed=seed)
    result.write(tmp_path)
    assert json.loads((tmp_path / "summary.json").read_text())["seed"] == recorded
