"""Parameter spaces: kinds, unit mapping, groups, TOML, refusals."""

import numpy as np
import pytest

from analysis.errors import AnalysisError
from analysis.space import Discrete, Group, Real, Space


def test_kinds_and_unit_mapping():
    space = Space({
        "x": (0.0, 2.0),
        "n": ("int", 4, 6),
        "m": range(10, 31, 10),
        "colour": ["red", "blue"],
        "flag": bool,
        "g": Group(["t.a", "t.b"], 0.5, 1.0),
    })
    assert space.names == ["x", "n", "m", "colour", "flag", "g"]
    assert isinstance(space.factors["x"], Real)
    assert space.factors["n"] == Discrete("int", (4, 5, 6))
    assert space.factors["m"].values == (10, 20, 30)
    unit = np.array([[0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
                     [0.5, 0.34, 0.5, 0.49, 0.51, 0.5]])
    lo, hi, mid = space.values(unit)
    assert lo == {"x": 0.0, "n": 4, "m": 10, "colour": "red", "flag": False, "g": 0.5}
    assert hi == {"x": 2.0, "n": 6, "m": 30, "colour": "blue", "flag": True, "g": 1.0}
    assert mid == {"x": 1.0, "n": 5, "m": 20, "colour": "red", "flag": True, "g": 0.75}
    params = space.params(mid)
    assert params == {"x": 1.0, "n": 5, "m": 20, "colour": "red", "flag": True,
                      "t.a": 0.75, "t.b": 0.75}
    assert space.keys == ["x", "n", "m", "colour", "flag", "t.a", "t.b"]


def test_discrete_values_equally_likely():
    space = Space({"n": ("int", 1, 3)})
    u = (np.arange(3000) + 0.5) / 3000
    values = [v["n"] for v in space.values(u[:, None])]
    assert [values.count(k) for k in (1, 2, 3)] == [1000, 1000, 1000]


def test_round_trip_dict_and_toml(tmp_path):
    space = Space({"x": (0.0, 1.0), "n": ("int", 2, 5), "c": ["a", "b"], "f": bool,
                   "g": Group(["k1", "k2"])})
    assert Space.from_list(space.to_list()) == space
    assert [d["name"] for d in space.to_list()] == ["x", "n", "c", "f", "g"]
    path = tmp_path / "s.toml"
    path.write_text(
        '[parameters]\n"x" = [0.0, 1.0]\n"n" = { int = [2, 5] }\n"c" = { choices = ["a", "b"] }\n'
        '"f" = "bool"\n[groups.g]\nkeys = ["k1", "k2"]\n'
    )
    assert Space.from_toml(path) == space


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"x": (1.0, 0.0)}, "x: bounds reversed or empty (1.0 >= 0.0)"),
        ({"x": (0.5, 0.5)}, "x: bounds reversed or empty"),
        ({"n": ("int", 5, 2)}, "n: bounds reversed or empty"),
        ({"x": "wide"}, "x: unknown parameter kind 'wide'"),
        ({"x": (0.0, float("inf"))}, "x: bounds must be finite"),
        ({"c": ["a"]}, "c: choices must be a list of two or more distinct values"),
        ({"g": Group([], 0, 1)}, "g: a group needs one or more key names"),
        ({"x": (0, 1), "g": Group(["x"])}, "key x is set by more than one parameter"),
        ({}, "a space needs at least one parameter"),
    ],
)
def test_refused(spec, message):
    with pytest.raises(AnalysisError, match=r"^space: ") as err:
        Space(spec)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_toml_refusals(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[parameters]\n"x" = [1.0, 0.0]\n')
    with pytest.raises(AnalysisError, match=r"bad.toml: x: bounds reversed"):
        Space.from_toml(path)
    path.write_text('[parameters]\n"x" = { normal = [0, 1] }\n')
    with pytest.raises(AnalysisError, match=r"bad.toml: parameters.x: unknown kind"):
        Space.from_toml(path)
    path.write_text('[params]\n"x" = [0, 1]\n')
    with pytest.raises(AnalysisError, match=r"unknown table 'params'; allowed: parameters"):
        Space.from_toml(path)
    with pytest.raises(AnalysisError, match=r"missing.toml: no such space file"):
        Space.from_toml(tmp_path / "missing.toml")
