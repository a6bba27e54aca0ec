"""Registry of column convection emulators: ``get_emulator("mlp", klev=20, ...)``.

Every emulator maps a batch of columns x = (T(klev), q(klev)) of shape ``(ncol, 2*klev)``
(normalised) to y = (dT/dt(klev), dq/dt(klev)) of shape ``(ncol, 2*klev)`` (normalised),
level 0 the lowest layer, so that the host calls it with ``x(2*klev, klon)`` in Fortran
(``bm_mlp``: ``6*klev`` inputs, below).

``gated_mlp`` (:class:`GatedConservingMLP`) is physically structured: a trigger head
says whether the column convects (stable columns get exactly zero tendency, as in the
reference scheme), and the tendencies pass through a fixed linear projection, part of
the exported network, that zeroes the levels the scheme never touches and removes the
column enthalpy residual sum (cp dT/dt + L dq/dt) dp/g.

``bm_mlp`` (:class:`CloudLayerMLP`) takes, besides (T, q), the quantities the scheme
decides from, computed by the host before the call (Fortran ``cp_bm_features``, also
used for training): the departures from the scheme's reference profiles T_ref - T,
q_ref - q on the cloud layer, the cloud-layer mask and the deep-regime mask. Its input
is ``(ncol, 6*klev)`` (``input_features = "bm"``); the network produces the tendencies,
which the host then zeroes outside the cloud layer, closing the column enthalpy by a
uniform temperature change over it (:func:`cloud_layer_closure`, applied in training
too).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from ...models import MLP

__all__ = ["CloudLayerMLP", "ColumnCNN", "GatedConservingMLP", "available_emulators",
           "cloud_layer_closure", "get_emulator"]


def _mlp(klev: int, hidden: Sequence[int] = (128, 128), activation: str = "silu"
         ) -> nn.Module:
    """MLP on the whole column (runs on libclimlearn's native kernel)."""
    return MLP(2 * klev, 2 * klev, hidden=hidden, activation=activation)


class ColumnCNN(nn.Module):
    """1-D convolutions along the vertical (channels T, q), then a linear read-out.

    Parameters
    ----------
    klev
        Number of levels.
    channels
        Channels of the hidden convolution layers.
    kernel
        Odd kernel size (zero padding keeps ``klev`` levels).
    """

    def __init__(self, klev: int, channels: Sequence[int] = (32, 32), kernel: int = 5) -> None:
        super().__init__()
        if kernel % 2 != 1:
            raise ValueError(f"kernel must be odd, given {kernel}")
        self.klev = int(klev)
        layers: list[nn.Module] = []
        c_in = 2
        for c in channels:
            layers += [nn.Conv1d(c_in, int(c), kernel, padding=kernel // 2), nn.SiLU()]
            c_in = int(c)
        layers.append(nn.Conv1d(c_in, 2, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        h = x.reshape(x.shape[0], 2, self.klev)
        return self.net(h).reshape(x.shape[0], 2 * self.klev)


class GatedConservingMLP(nn.Module):
    """MLP with physical input features, a convection trigger and an enthalpy-conserving
    projection of its output.

    Takes the PHYSICAL column x = (T (K), q (kg kg-1)) (train it with the identity as
    input normalisation) and computes, per level, three features: T, the relative
    humidity q/qsat(T, p), and the moist-static-energy buoyancy proxy of a parcel from
    the lowest level, (h_1 - h*_k)/cp with h = cp T + g z + L q (z hydrostatic from the
    lowest level) and h* its saturated value. The features are standardised (buffers set
    by :meth:`set_feature_stats`) and the MLP body maps them to ``2*klev`` normalised
    tendencies and one trigger logit. The tendencies are multiplied by a fixed matrix
    (buffer ``projection``, the identity until :meth:`set_constraints`), then by the
    trigger ``logit > 0`` (1 or 0): stable columns get exactly zero tendency.

    Parameters
    ----------
    klev
        Number of levels.
    hidden, activation
        The MLP body (see :class:`climlearn.models.MLP`).
    """

    def __init__(self, klev: int, hidden: Sequence[int] = (128, 128),
                 activation: str = "silu") -> None:
        super().__init__()
        self.klev = int(klev)
        self.body = MLP(3 * klev, 2 * klev + 1, hidden=hidden, activation=activation)
        self.register_buffer("projection", torch.eye(2 * klev))
        # Full-level pressure (Pa), uniform sigma levels under 1000 hPa until set.
        p = 1.0e5 * (1.0 - (torch.arange(klev, dtype=torch.float64) + 0.5) / klev)
        self.register_buffer("pfull", p)
        self.register_buffer("fmean", torch.zeros(3 * klev, dtype=torch.float64))
        self.register_buffer("fstd", torch.ones(3 * klev, dtype=torch.float64))

    def set_pressure(self, pfull: Tensor) -> None:
        """Full-level pressures (Pa, ``(klev,)``, level 0 the lowest)."""
        self.pfull.copy_(torch.as_tensor(pfull, dtype=torch.float64).reshape(self.klev))

    def raw_features(self, x: Tensor) -> Tensor:
        """Unstandardised features (T, RH, buoyancy proxy) of physical columns, float64."""
        k = self.klev
        xd = x.to(torch.float64)
        t, q = xd[:, :k], xd[:, k:]
        es = 610.78 * torch.exp(2.5e6 / 461.5 * (1.0 / 273.16 - 1.0 / t))
        eps = 287.04 / 461.5
        qs = eps * es / torch.clamp(self.pfull - (1.0 - eps) * es, min=1.0)
        lnp = torch.log(self.pfull)
        dgz = 287.04 * 0.5 * (t[:, 1:] + t[:, :-1]) * (lnp[:-1] - lnp[1:])
        gz = torch.cat([torch.zeros_like(t[:, :1]), torch.cumsum(dgz, dim=1)], dim=1)
        h1 = 1004.64 * t[:, :1] + 2.5e6 * q[:, :1]
        hs = 1004.64 * t + gz + 2.5e6 * qs
        return torch.cat([t, q / qs, (h1 - hs) / 1004.64], dim=1)

    def set_feature_stats(self, x: Tensor) -> None:
        """Standardisation of the features from a sample of physical columns."""
        f = self.raw_features(torch.as_tensor(x))
        std = f.std(dim=0)
        self.fmean.copy_(f.mean(dim=0))
        self.fstd.copy_(torch.clamp(std, min=float(std.max()) * 1.0e-3 + 1.0e-12))

    def set_constraints(self, weights: Tensor, active: Tensor) -> None:
        """Build the projection from the enthalpy weights and the active-output mask:
        ``P = D (I - w w^T / w^T w)`` with ``D = diag(active)`` and ``w`` zero on
        inactive outputs (least-squares projection onto ``w . y = 0``).

        Parameters
        ----------
        weights
            ``(2*klev,)``: column enthalpy change per unit NORMALISED output, i.e.
            ``cp dp/g * scale_T`` for the T outputs and ``L dp/g * scale_q`` for q.
        active
            ``(2*klev,)`` booleans: outputs the scheme can change (others are zeroed).
        """
        n = 2 * self.klev
        w = torch.as_tensor(weights, dtype=torch.float64).reshape(-1)
        m = torch.as_tensor(active, dtype=torch.float64).reshape(-1)
        if w.shape != (n,) or m.shape != (n,):
            raise ValueError(f"weights and active must have {n} values, given "
                             f"{tuple(w.shape)} and {tuple(m.shape)}")
        w = w * m
        if float(w @ w) <= 0:
            raise ValueError("enthalpy weights vanish on every active output")
        p = torch.diag(m) @ (torch.eye(n, dtype=torch.float64) - torch.outer(w, w) / (w @ w))
        self.projection.copy_(p.to(self.projection.dtype))

    def parts(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Projected tendencies (before the trigger) and the trigger logit (training)."""
        f = ((self.raw_features(x) - self.fmean) / self.fstd).to(x.dtype)
        o = self.body(f)
        return o[:, : 2 * self.klev] @ self.projection.t(), o[:, 2 * self.klev]

    def forward(self, x: Tensor) -> Tensor:
        y, logit = self.parts(x)
        return y * (logit > 0).to(y.dtype).unsqueeze(1)


class CloudLayerMLP(MLP):
    """Plain MLP on (T, q) and the Betts-Miller cloud-layer features; the host masks its
    output to the cloud layer and closes the column enthalpy (:func:`cloud_layer_closure`).

    Input: the PHYSICAL ``x = (T, q, T_ref - T, q_ref - q, mask, deep)``,
    ``(ncol, 6*klev)``, from :func:`.physics.bm_features` (standardised per feature by the
    export normalisation), output the ``2*klev`` tendencies. A plain chain of linear
    layers and activations, so that libclimlearn runs it on its native kernel. The
    structure of the scheme is applied after the network, by the host (Fortran
    ``ml_cloud_layer``) and in training alike, with :func:`cloud_layer_closure`.

    Parameters
    ----------
    klev
        Number of levels.
    hidden, activation
        The MLP body (see :class:`climlearn.models.MLP`).
    """

    input_features = "bm"

    def __init__(self, klev: int, hidden: Sequence[int] = (128, 128),
                 activation: str = "silu") -> None:
        super().__init__(6 * klev, 2 * klev, hidden=hidden, activation=activation)
        self.klev = int(klev)


def cloud_layer_closure(y: Tensor, mask: Tensor, dp: Tensor, cp: float = 1004.64,
                        lv: float = 2.5e6) -> Tensor:
    """Zero the tendencies outside the cloud layer and close the column enthalpy by a
    uniform temperature change over it (the closure of the deep Betts-Miller scheme).

    ``y = (dT/dt, dq/dt)`` (physical units, ``(ncol, 2*klev)``), ``mask`` the cloud-layer
    mask ``(ncol, klev)``, ``dp`` the layer thickness (Pa, ``(klev,)`` or
    ``(ncol, klev)``). Returns ``(m dT - m r / (cp sum(m dp)), m dq)`` with
    ``r = sum (cp m dT + L m dq) dp``; the Fortran host's ``ml_cloud_layer`` does the
    same.
    """
    k = mask.shape[1]
    dt, dq = y[:, :k] * mask, y[:, k:] * mask
    resid = ((cp * dt + lv * dq) * dp).sum(dim=1, keepdim=True)
    mass = (mask * dp).sum(dim=1, keepdim=True)
    shift = torch.where(mass > 0, resid / (cp * torch.clamp(mass, min=1.0e-30)),
                        torch.zeros_like(resid))
    return torch.cat([dt - mask * shift, dq], dim=1)


def _gated_mlp(klev: int, hidden: Sequence[int] = (128, 128), activation: str = "silu"
               ) -> nn.Module:
    return GatedConservingMLP(klev, hidden, activation)


def _bm_mlp(klev: int, hidden: Sequence[int] = (128, 128), activation: str = "silu"
            ) -> nn.Module:
    return CloudLayerMLP(klev, hidden, activation)


def _cnn(klev: int, channels: Sequence[int] = (32, 32), kernel: int = 5) -> nn.Module:
    return ColumnCNN(klev, channels, kernel)


_REGISTRY: dict[str, Callable[..., nn.Module]] = {"mlp": _mlp, "cnn": _cnn,
                                                  "gated_mlp": _gated_mlp, "bm_mlp": _bm_mlp}


def available_emulators() -> list[str]:
    """Names accepted by :func:`get_emulator`."""
    return sorted(_REGISTRY)


def get_emulator(name: str, klev: int, **options) -> nn.Module:
    """Build the emulator ``name`` for ``klev`` levels with its ``options``.

    Raises
    ------
    ValueError
        Unknown name (the message lists the valid names) or bad options.
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown emulator {name!r}; valid names are "
                         f"{available_emulators()}")
    try:
        net = _REGISTRY[name](klev, **options)
    except TypeError as exc:
        raise ValueError(f"emulator {name!r}: bad options {options} ({exc})") from exc
    return net.to(torch.float32)
