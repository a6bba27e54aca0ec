"""Lorenz 96 experiment configs: defaults, YAML round trip, and clear errors."""

from __future__ import annotations

import textwrap

import pytest

from climlearn.testbeds.lorenz96 import config as c


def write(tmp_path, text: str):
    path = tmp_path / "cfg.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def parse(schemes: dict, **top) -> c.L96Config:
    return c.parse_config({"parametrisations": schemes, **top})


@pytest.mark.parametrize("quick", [False, True])
def test_default_configs_load_and_name_every_scheme(quick):
    cfg = c.default_config(quick=quick)
    assert cfg.seed == 0 and cfg.forcing == 20.0
    assert sorted(cfg.parametrisations) == ["mlp_local", "mlp_nonlocal", "poly", "poly_ar1"]
    assert isinstance(cfg.parametrisations["mlp_local"], c.NetworkOptions)
    assert cfg.parametrisations["mlp_nonlocal"].halfwidth == 2
    assert cfg.parametrisations["poly"].degree == 4
    assert cfg.parametrisations["poly_ar1"].degree == 3
    assert cfg.parametrisations["mlp_local"].stencil_halfwidth == 0


def test_quick_config_is_much_smaller_than_full():
    full, quick = c.default_config(False), c.default_config(True)
    for name in ("mlp_local", "mlp_nonlocal"):
        f, q = full.parametrisations[name], quick.parametrisations[name]
        assert q.epochs * q.max_samples <= f.epochs * f.max_samples / 50


def test_defaults_fill_missing_options_and_round_trip(tmp_path):
    cfg = parse({"mlp_local": None, "poly": {}, "mlp_nonlocal": {"halfwidth": 3}})
    assert cfg.parametrisations["mlp_local"] == c.NetworkOptions()
    assert cfg.parametrisations["poly"] == c.PolyOptions()
    assert cfg.parametrisations["mlp_nonlocal"] == c.NonlocalNetworkOptions(halfwidth=3)
    again = c.load_config(c.dump_config(cfg, tmp_path / "out.yaml"))
    assert again.parametrisations == cfg.parametrisations
    assert (again.seed, again.forcing) == (cfg.seed, cfg.forcing)
    assert list(again.parametrisations) == list(cfg.parametrisations)


def test_load_from_file_with_yaml_quirks(tmp_path):
    path = write(tmp_path, """
        seed: 7
        forcing: 18
        parametrisations:
          mlp_nonlocal:
            hidden: [16, 8]
            lr: 1e-3          # PyYAML reads this as a string: accepted as a number
            weight_decay: 0
            noise: ar1
            dtype: float64
    """)
    cfg = c.load_config(path)
    opts = cfg.parametrisations["mlp_nonlocal"]
    assert cfg.seed == 7 and cfg.forcing == 18.0 and isinstance(cfg.forcing, float)
    assert opts.hidden == (16, 8) and opts.lr == 1e-3 and opts.weight_decay == 0.0
    assert (opts.noise, opts.dtype) == ("ar1", "float64")
    assert cfg.source == str(path)


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.yaml"):
        c.load_config(tmp_path / "nope.yaml")


def test_invalid_yaml_and_empty_file(tmp_path):
    with pytest.raises(ValueError, match="invalid YAML"):
        c.load_config(write(tmp_path, "parametrisations: {poly: [1,\n"))
    with pytest.raises(ValueError, match="empty"):
        c.load_config(write(tmp_path, "# nothing\n"))
    with pytest.raises(ValueError, match="must be a mapping"):
        c.load_config(write(tmp_path, "- poly\n"))


def test_unknown_scheme_lists_valid_names():
    with pytest.raises(ValueError, match="unknown parametrisation 'gan'.*mlp_local, "
                                         "mlp_nonlocal, poly, poly_ar1"):
        parse({"gan": {}})


def test_unknown_option_lists_valid_keys():
    with pytest.raises(ValueError, match=r"parametrisations\.poly: unknown option\(s\) "
                                         r"\['order'\]; valid keys for 'poly' are \['degree'\]"):
        parse({"poly": {"order": 3}})
    # the local network has no halfwidth (it is fixed to 0)
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['halfwidth'\].*'hidden'"):
        parse({"mlp_local": {"halfwidth": 1}})


def test_unknown_and_missing_top_level_keys():
    with pytest.raises(ValueError, match=r"unknown top-level key\(s\) \['sead'\]"):
        c.parse_config({"sead": 1, "parametrisations": {"poly": {}}})
    with pytest.raises(ValueError, match="missing key 'parametrisations'"):
        c.parse_config({"seed": 1})
    with pytest.raises(ValueError, match="non-empty mapping"):
        c.parse_config({"parametrisations": {}})


@pytest.mark.parametrize("scheme,key,value,expected", [
    ("mlp_local", "epochs", 0, "an integer >= 1"),
    ("mlp_local", "epochs", -5, "an integer >= 1"),
    ("mlp_local", "epochs", "ten", "an integer >= 1"),
    ("mlp_local", "epochs", 2.5, "an integer >= 1"),
    ("mlp_local", "epochs", True, "an integer >= 1"),
    ("mlp_local", "lr", 0, "a number > 0"),
    ("mlp_local", "lr", -1e-3, "a number > 0"),
    ("mlp_local", "lr", "fast", "a number > 0"),
    ("mlp_local", "batch_size", 0, "an integer >= 1"),
    ("mlp_local", "hidden", 64, "a list of positive integers"),
    ("mlp_local", "hidden", [64, 0], "a list of positive integers"),
    ("mlp_local", "val_fraction", 1.0, "a number strictly between 0 and 1"),
    ("mlp_local", "weight_decay", -0.1, "a number >= 0"),
    ("mlp_local", "activation", "sigmoid", "one of ['elu', 'gelu', 'relu', 'silu', 'tanh']"),
    ("mlp_local", "optimiser", "lbfgs", "one of ['adam', 'adamw', 'sgd']"),
    ("mlp_local", "dtype", "float16", "one of ['float32', 'float64']"),
    ("mlp_local", "noise", "gaussian", "one of ['none', 'ar1']"),
    ("mlp_local", "schedule", "step", "one of ['none', 'cosine']"),
    ("mlp_nonlocal", "halfwidth", -1, "an integer >= 0"),
    ("poly", "degree", 0, "an integer from 1 to 12"),
    ("poly_ar1", "degree", "3", "an integer from 1 to 12"),
])
def test_bad_values_name_key_expected_and_given(scheme, key, value, expected):
    with pytest.raises(ValueError) as err:
        parse({scheme: {key: value}})
    msg = str(err.value)
    assert f"parametrisations.{scheme}" in msg
    assert f"option {key!r} must be {expected}" in msg
    assert f"given {value!r}" in msg


@pytest.mark.parametrize("top,match", [
    ({"seed": -1}, "'seed' must be an integer >= 0, given -1"),
    ({"seed": "zero"}, "'seed' must be an integer >= 0, given 'zero'"),
    ({"forcing": "strong"}, "'forcing' must be a finite number, given 'strong'"),
])
def test_bad_top_level_values(top, match):
    with pytest.raises(ValueError, match=match):
        parse({"poly": {}}, **top)


def test_options_of_a_scheme_that_are_not_a_mapping():
    with pytest.raises(ValueError, match=r"parametrisations\.poly: expected a mapping"):
        parse({"poly": [4]})


def test_config_choices_agree_with_the_implementations():
    from climlearn.models import MLP
    from climlearn.testbeds.lorenz96.parametrisations import available_parametrisations
    from climlearn.testbeds.lorenz96.parametrisations.training import available_optimisers

    assert sorted(c.SCHEME_OPTIONS) == available_parametrisations()
    assert list(c.OPTIMISERS) == available_optimisers()
    for act in c.ACTIVATIONS:
        MLP(1, 1, hidden=(2,), activation=act)
