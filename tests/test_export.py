"""climlearn.export: scripting, normalisation inside the model, the card, safety checks."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
import torch

from climlearn.export import ExportError, load, to_torchscript
from climlearn.models import MLP, get_model


@pytest.fixture
def net():
    torch.manual_seed(0)
    return MLP(4, 3, hidden=(16,), activation="tanh", dtype=torch.float64)


def test_normalisation_is_inside_the_model(net, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(280.0, 10.0, size=(50, 4))
    xm, xs = x.mean(0), x.std(0)
    ym, ys = np.array([1.0, -2.0, 0.5]), np.array([0.1, 3.0, 2.0])
    path = to_torchscript(net, tmp_path / "m.pt", example_inputs=torch.tensor(x),
                          input_names=["T"], output_names=["Q"],
                          units={"T": "K", "Q": "K s-1"},
                          normalisation={"T": (xm, xs), "Q": (ym, ys)}, seed=42)
    module, card = load(path)
    got = module(torch.tensor(x)).detach().numpy()
    with torch.no_grad():
        core = net(torch.tensor((x - xm) / xs)).numpy()
    np.testing.assert_allclose(got, core * ys + ym, rtol=1e-12, atol=1e-12)
    assert card["normalisation"]["T"]["mean"] == pytest.approx(list(xm))
    assert card["inputs"][0] == {"name": "T", "units": "K", "long_name": "T",
                                 "shape": [None, 4], "batch_dim": 0, "dtype": "float64"}
    assert card["outputs"][0]["shape"] == [None, 3]
    assert card["seed"] == 42
    assert card["torch_version"] == torch.__version__
    assert card["export_method"] == "script"
    assert card["export_check"]["max_abs_diff"] < 1e-12


def test_card_is_in_the_archive(net, tmp_path):
    path = to_torchscript(net, tmp_path / "m.pt", example_inputs=torch.zeros(2, 4,
                          dtype=torch.float64), output_names=["y"],
                          metrics={"r2": 0.9}, training_data={"checksum": "sha256:x"})
    with zipfile.ZipFile(path) as zf:
        names = [n for n in zf.namelist() if n.endswith("climlearn/meta.json")]
        assert len(names) == 1
        card = json.loads(zf.read(names[0]))
    assert card["metrics"] == {"r2": 0.9}
    assert card["schema_version"] == 1


def test_trace_fallback_when_script_fails(tmp_path):
    class VarArgs(torch.nn.Module):  # *args cannot be scripted, but traces safely
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(3, 2)

        def forward(self, *xs):
            return self.lin(xs[0])

    path = to_torchscript(VarArgs(), tmp_path / "t.pt", example_inputs=torch.randn(5, 3),
                          output_names=["y"])
    module, card = load(path)
    assert card["export_method"] == "trace"
    x = torch.randn(9, 3)  # another batch size than the example
    assert module(x).shape == (9, 2)


def test_unsafe_trace_is_refused_and_leaves_no_file(tmp_path):
    class Branchy(torch.nn.Module):  # data-dependent branch, and not scriptable (*args)
        def forward(self, *xs):
            x = xs[0]
            if float(x.sum()) > 0:
                return x * 2
            return x - 1

    target = tmp_path / "bad.pt"
    with pytest.raises(ExportError, match="tracing is not safe"):
        to_torchscript(Branchy(), target, example_inputs=torch.ones(4, 3),
                       output_names=["y"])
    assert list(tmp_path.iterdir()) == []


def test_bad_arguments_name_the_problem(net, tmp_path):
    x = torch.zeros(3, 4, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"unknown name\(s\) \['Z'\]; valid names are"):
        to_torchscript(net, tmp_path / "a.pt", example_inputs=x, output_names=["y"],
                       units={"Z": "K"})
    with pytest.raises(ValueError, match="expected 1 names, given 2"):
        to_torchscript(net, tmp_path / "a.pt", example_inputs=x, output_names=["y", "w"])
    with pytest.raises(ValueError, match="NaN or Inf"):
        to_torchscript(net, tmp_path / "a.pt", example_inputs=x * float("nan"),
                       output_names=["y"])
    with pytest.raises(ValueError, match="contains zeros"):
        to_torchscript(net, tmp_path / "a.pt", example_inputs=x, output_names=["y"],
                       normalisation={"x": (0.0, np.zeros(4))})
    with pytest.raises(ValueError, match="not broadcastable"):
        to_torchscript(net, tmp_path / "a.pt", example_inputs=x, output_names=["y"],
                       normalisation={"x": (np.zeros(5), 1.0)})
    with pytest.raises(ValueError, match="float32 or float64"):
        to_torchscript(net, tmp_path / "a.pt", example_inputs=x.half(), output_names=["y"])
    assert list(tmp_path.iterdir()) == []


def test_load_errors(tmp_path, net):
    with pytest.raises(FileNotFoundError, match="absent.pt"):
        load(tmp_path / "absent.pt")
    txt = tmp_path / "t.pt"
    txt.write_text("hello")
    with pytest.raises(ValueError, match="not a TorchScript archive"):
        load(txt)
    good = to_torchscript(net, tmp_path / "g.pt", output_names=["y"],
                          example_inputs=torch.zeros(2, 4, dtype=torch.float64))
    trunc = tmp_path / "trunc.pt"
    trunc.write_bytes(good.read_bytes()[:200])
    with pytest.raises(ValueError, match="cannot load"):
        load(trunc)
    plain = tmp_path / "plain.pt"
    torch.jit.save(torch.jit.script(net), str(plain))
    with pytest.raises(ValueError, match="no climlearn model card"):
        load(plain)


def test_get_model_registry():
    assert isinstance(get_model("mlp", n_in=2, n_out=1), MLP)
    with pytest.raises(ValueError, match="unknown model 'cnn'; valid names are: mlp"):
        get_model("cnn")
    with pytest.raises(ValueError, match="unknown activation 'sigmoid'; valid names"):
        MLP(2, 1, activation="sigmoid")
