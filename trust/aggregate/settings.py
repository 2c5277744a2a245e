"""The settings of the aggregate protocol, as frozen records checked in one place.

:func:`AggregateSettings.from_mapping` reads the ``aggregate:`` block of ``params.yaml`` (minus what the
pipeline owns: ``dataset`` and ``seed``) or the mapping the CLI builds, and checks every key, type and range
with one-line :class:`~trust.errors.ConfigError` messages naming the key; an unknown key is an error (a typo
must not silently fall back to a default). Stages and the CLI pass the mapping through and re-check nothing.

The groups (each part of the protocol runs only when its group asks for it):

* the response: ``log_target``, ``center``, ``scale`` (declared public constants), ``clip`` (the label-DP clip
  bound ``C`` on standardised responses);
* the comparison on exact bag means (not DP): ``bag_sizes`` (empty: skipped), ``seeds``; the rho selection
  shared by every estimator: ``rho_grid``, ``val_fraction``, ``n_folds``; ``mlp`` (:class:`MLPSettings`);
* ``dp`` (:class:`DPSettings`): the label-DP sweep over ``epsilons`` x ``bag_sizes`` x ``seeds`` on
  ``sweep_rows`` rows, and the one deployed release (``release_epsilon``, ``release_bag_size``);
* ``synthetic`` (:class:`SyntheticSettings`): the paper's linear model (``bag_sizes`` empty: skipped);
* ``release`` (:class:`ReleaseSettings`): the deployed release's estimator and bags (``bag_key``: key columns,
  bags never mixing key values; a release runs when ``dp.release_bag_size`` is set or ``bag_key`` is), and
  whether its model is scored on the test rows (a statistic of private labels: audit trail, a non-DP use).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping

from trust.aggregate.estimators import DEFAULT_RHO_GRID, MODELS
from trust.errors import ConfigError


def _setting(default: Any, kind: str, *, low: float | None = None, high: float | None = None, open_low: bool = False,
             null: bool = False, choices: tuple[str, ...] = (), nested: type | None = None) -> Any:
    meta = {"kind": kind, "low": low, "high": high, "open_low": open_low, "null": null, "choices": choices,
            "nested": nested}
    if nested is not None:
        return dataclasses.field(default_factory=nested, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _number(v: Any, key: str, meta: Mapping[str, Any], integer: bool) -> float | int:
    ok = isinstance(v, int) if integer else isinstance(v, (int, float))
    if isinstance(v, bool) or not ok or not math.isfinite(float(v)):
        raise ConfigError(f"aggregate setting '{key}' = {v!r} must be {'an integer' if integer else 'a finite number'}")
    low, high = meta["low"], meta["high"]
    if low is not None and (v < low or (meta["open_low"] and v == low)):
        raise ConfigError(f"aggregate setting '{key}' = {v!r} must be {'>' if meta['open_low'] else '>='} {low:g}")
    if high is not None and v > high:
        raise ConfigError(f"aggregate setting '{key}' = {v!r} must be <= {high:g}")
    return int(v) if integer else float(v)


def _value(v: Any, key: str, meta: Mapping[str, Any]) -> Any:
    kind = meta["kind"]
    if v is None and meta["null"]:
        return None
    if kind == "bool":
        if not isinstance(v, bool):
            raise ConfigError(f"aggregate setting '{key}' = {v!r} must be true or false")
        return v
    if kind in ("int", "float"):
        return _number(v, key, meta, kind == "int")
    if kind == "str":
        if not isinstance(v, str) or (meta["choices"] and v not in meta["choices"]):
            raise ConfigError(f"aggregate setting '{key}' = {v!r} must be one of {list(meta['choices'])}")
        return v
    if kind == "rho":
        return v if v == "auto" else _number(v, key, {**meta, "low": 0.0}, False)
    if isinstance(v, (str, bytes)) or not isinstance(v, (list, tuple)):
        raise ConfigError(f"aggregate setting '{key}' = {v!r} must be a list")
    if kind == "strs":
        if not all(isinstance(x, str) and x for x in v):
            raise ConfigError(f"aggregate setting '{key}' = {v!r} must be a list of column names")
        return tuple(v)
    return tuple(_number(x, key, meta, kind == "ints") for x in v)


def _parse(cls: type, mapping: Any, where: str) -> Any:
    if mapping is None:
        return cls()
    if not isinstance(mapping, Mapping):
        raise ConfigError(f"aggregate setting '{where or 'settings'}' must be a mapping of settings, not {mapping!r:.40}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(str(k) for k in mapping if k not in fields)
    if unknown:
        raise ConfigError(f"aggregate setting '{where + '.' if where else ''}{unknown[0]}' is unknown; the settings "
                          f"{'of ' + repr(where) + ' ' if where else ''}are {sorted(fields)}")
    values = {}
    for name, v in mapping.items():
        meta, key = fields[name].metadata, f"{where}.{name}" if where else name
        values[name] = _parse(meta["nested"], v, key) if meta["nested"] else _value(v, key, meta)
    return cls(**values)


@dataclasses.dataclass(frozen=True)
class MLPSettings:
    """The MLP comparison on exact bag means (reported, not gated)."""

    enabled: bool = _setting(False, "bool")
    bag_sizes: tuple[int, ...] = _setting((16,), "ints", low=1)
    seeds: tuple[int, ...] = _setting((0,), "ints", low=0)
    epochs: int = _setting(15, "int", low=1)
    hidden: tuple[int, ...] = _setting((64, 64), "ints", low=1)
    rho_grid: tuple[float, ...] = _setting((0.0, 0.003, 0.03, 0.3, 1.0), "floats", low=0.0)
    n_folds: int = _setting(1, "int", low=1)


@dataclasses.dataclass(frozen=True)
class DPSettings:
    """The label-DP sweep (simulated releases, their figures not DP) and the one deployed release."""

    epsilons: tuple[float, ...] = _setting((), "floats", low=0.0, open_low=True)
    bag_sizes: tuple[int, ...] = _setting((), "ints", low=1)
    seeds: tuple[int, ...] = _setting((0,), "ints", low=0)
    sweep_rows: int | None = _setting(None, "int", low=10, null=True)
    release_epsilon: float | None = _setting(None, "float", low=0.0, open_low=True, null=True)
    release_bag_size: int | None = _setting(None, "int", low=1, null=True)


@dataclasses.dataclass(frozen=True)
class SyntheticSettings:
    """The paper's linear model: Gaussian features, n proportional to d."""

    n: int = _setting(400, "int", low=10)
    d: int = _setting(100, "int", low=1)
    bag_sizes: tuple[int, ...] = _setting((), "ints", low=1)
    rhos: tuple[float, ...] = _setting((0.0, 0.1, 0.3, 1.0), "floats", low=0.0)
    reps: int = _setting(20, "int", low=2)


@dataclasses.dataclass(frozen=True)
class ReleaseSettings:
    """The deployed release's estimator and bags."""

    model: str = _setting("linear", "str", choices=MODELS)
    rho: float | str = _setting("auto", "rho")
    epochs: int = _setting(30, "int", low=1)
    hidden: tuple[int, ...] = _setting((64, 64), "ints", low=1)
    bag_key: tuple[str, ...] = _setting((), "strs")
    keep_last: bool = _setting(False, "bool")
    score_test: bool = _setting(True, "bool")


@dataclasses.dataclass(frozen=True)
class AggregateSettings:
    """Every setting of :func:`trust.aggregate.protocol.run_aggregate` (module docstring)."""

    log_target: bool = _setting(False, "bool")
    center: float = _setting(0.0, "float")
    scale: float = _setting(1.0, "float", low=0.0, open_low=True)
    clip: float | None = _setting(None, "float", low=0.0, open_low=True, null=True)
    bag_sizes: tuple[int, ...] = _setting((), "ints", low=1)
    seeds: tuple[int, ...] = _setting((0,), "ints", low=0)
    rho_grid: tuple[float, ...] = _setting(DEFAULT_RHO_GRID, "floats", low=0.0)
    val_fraction: float = _setting(0.2, "float", low=0.0, high=0.9, open_low=True)
    n_folds: int = _setting(1, "int", low=1)
    mlp: MLPSettings = _setting(None, "nested", nested=MLPSettings)
    dp: DPSettings = _setting(None, "nested", nested=DPSettings)
    synthetic: SyntheticSettings = _setting(None, "nested", nested=SyntheticSettings)
    release: ReleaseSettings = _setting(None, "nested", nested=ReleaseSettings)

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | None) -> "AggregateSettings":
        """Check a mapping of settings (params.yaml's ``aggregate:`` block less ``dataset``/``seed``).

        Raises:
            ConfigError: an unknown key, or a value of the wrong type or out of range (the key is named).
        """
        settings = _parse(cls, mapping, "")
        for key in ("rho_grid",):
            if not getattr(settings, key):
                raise ConfigError(f"aggregate setting '{key}' is empty; give at least one rho >= 0, e.g. [0, 0.1, 1]")
        if settings.mlp.enabled and not settings.mlp.rho_grid:
            raise ConfigError("aggregate setting 'mlp.rho_grid' is empty; give at least one rho >= 0")
        return settings

    def to_dict(self) -> dict[str, Any]:
        """JSON values (lists for tuples)."""
        def plain(v: Any) -> Any:
            return list(v) if isinstance(v, tuple) else v
        return {k: ({kk: plain(vv) for kk, vv in v.items()} if isinstance(v, dict) else plain(v))
                for k, v in dataclasses.asdict(self).items()}


__all__ = ["AggregateSettings", "MLPSettings", "DPSettings", "SyntheticSettings", "ReleaseSettings"]
