"""One entry point for private synthesis: ``create(engine="auto"|"ctabgan"|"aim"|"mst", **settings)``.

>>> from trust.synth import create
>>> model = create("auto", epsilon=1.0, delta=1e-5, random_state=0)
>>> model.engine
'auto'

``create`` returns an unfitted :class:`Synthesizer`; ``fit(df, schema)`` picks the engine (``auto``) or uses the
one named, fits it, and sets ``engine_`` (the engine used) and ``reason_`` (why, in one line); ``sample``,
``save``/``load`` and ``privacy_report()`` go to the fitted engine (:class:`~trust.synth.CTABGANPlus` or
:class:`~trust.synth.marginal.MarginalSynthesizer`). Settings go to the engine that takes them; with ``auto`` a
setting goes to every engine that takes it, and one that neither takes is a ConfigError.

The ``auto`` rule (:func:`choose_engine`) reads only public inputs and a DP row count: ``epsilon``, ``delta``, the
declared schema's domain sizes and ``n_dp``, a discrete Laplace count of the (coerced) rows bought with
:data:`COUNT_EPSILON_FRACTION` of ``epsilon`` (its own ledger entry; the engine gets the rest). It was derived
from the measurements in ``benchmarks/README.md`` ("Synthesis engines", ``benchmarks/synth_engines.py``):

* **no DP**: CTAB-GAN+ (it wins there: train-on-synthetic AUC 0.899 on Adult); no count is taken;
* **DP**: MST when ``n_dp * epsilon <= ``:data:`MAX_N_EPSILON` (30,000), else CTAB-GAN+. Measured: MST won on
  full Adult at epsilon 1 (``n * epsilon`` 19,536: 0.831 against 0.811) and on 3,000 rows at epsilon 1 and 3
  (3,000 and 9,000: 0.749 and 0.802 against 0.511 and 0.584); CTAB-GAN+ won on full Adult at epsilon 3 (58,608:
  0.851 against 0.837). DP-SGD's signal grows with ``n * epsilon`` (``trust.synth.plan``), the marginal
  engine's noise is fixed by ``epsilon`` alone, hence the product; 30,000 lies between the two measured sides;
* the marginal engine also needs every column's bounds or categories declared and a tractable discretised
  table (at most :data:`MAX_COLUMNS` columns, :data:`MAX_PAIR_CELLS` cells in the largest two-way marginal);
  otherwise CTAB-GAN+ (a tractability guard, not measured), and then no count is taken either.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import pandas as pd
from sklearn.base import BaseEstimator

from trust._validation import check_is_fitted, check_option
from trust.data.schema import TableSchema
from trust.errors import ConfigError, DataError

ENGINES = ("auto", "ctabgan", "aim", "mst")
#: the marginal engine is chosen only for tables whose discretised domain stays tractable for its graphical model
MAX_COLUMNS = 60
MAX_PAIR_CELLS = 250_000
#: bins per numeric column the rule assumes when ``bins`` is not set (the marginal engine's default)
DEFAULT_BINS = 16
#: under DP, MST when the DP row count times epsilon is at most this (see the module docstring)
MAX_N_EPSILON = 30_000
#: share of epsilon ``auto`` spends on the DP row count
COUNT_EPSILON_FRACTION = 0.01


@dataclass(frozen=True)
class Choice:
    """The engine ``auto`` picked and why (one line, shown in the fit's output and the evidence)."""

    engine: str
    reason: str


def domain_sizes(schema: TableSchema, bins: int = DEFAULT_BINS) -> dict[str, int | None]:
    """Codes per column of the declared schema as the marginal engine would discretise it (None: not declared)."""
    out: dict[str, int | None] = {}
    for name, spec in schema.columns.items():
        extra = int(spec.allow_missing)
        if spec.kind == "categorical":
            out[name] = None if spec.categories is None else len(spec.categories) + extra
        else:
            masses = len(spec.point_masses) if spec.kind == "mixed" else 0
            out[name] = None if spec.bounds is None else bins + masses + extra
    return out


def choose_engine(*, epsilon: float | None, delta: float, sizes: Mapping[str, int | None],
                  n_dp: float | None = None) -> Choice:
    """The ``auto`` rule (module docstring). ``n_dp`` (the DP row count) is read only under DP once the table passes
    the marginal engine's guards (:func:`marginal_guard`); None there means "not counted yet"."""
    if epsilon is None:
        return Choice("ctabgan", "no DP: CTAB-GAN+ (it wins without DP: benchmarks/README.md, Synthesis engines)")
    guard = marginal_guard(sizes)
    if guard is not None:
        return Choice("ctabgan", f"DP, but {guard}: CTAB-GAN+")
    if n_dp is None:
        raise ConfigError("choose_engine under DP needs the DP row count n_dp (Synthesizer.fit buys it)")
    product = max(float(n_dp), 0.0) * float(epsilon)
    if product <= MAX_N_EPSILON:
        return Choice("mst", f"DP at epsilon {epsilon:g}, delta {delta:g}, DP row count {n_dp:,.0f}: n x epsilon "
                             f"{product:,.0f} <= {MAX_N_EPSILON:,}: MST (marginal-based wins there: "
                             "benchmarks/README.md, Synthesis engines)")
    return Choice("ctabgan", f"DP at epsilon {epsilon:g}, delta {delta:g}, DP row count {n_dp:,.0f}: n x epsilon "
                             f"{product:,.0f} > {MAX_N_EPSILON:,}: CTAB-GAN+ (DP-SGD wins there: "
                             "benchmarks/README.md, Synthesis engines)")


def marginal_guard(sizes: Mapping[str, int | None]) -> str | None:
    """Why the marginal engine cannot take this declared table (None: it can)."""
    undeclared = [c for c, k in sizes.items() if k is None]
    if undeclared:
        return f"column '{undeclared[0]}' has no declared bounds or categories, which the marginal engine needs"
    top = sorted(sizes.values(), reverse=True)[:2]
    pair = top[0] * (top[1] if len(top) > 1 else 1) if top else 0
    if len(sizes) > MAX_COLUMNS or pair > MAX_PAIR_CELLS:
        return (f"the table is too large for the marginal engine's graphical model ({len(sizes)} columns, largest "
                f"pair {pair:,} cells; limits {MAX_COLUMNS} and {MAX_PAIR_CELLS:,})")
    return None


def dp_row_count(df: pd.DataFrame, schema: TableSchema, epsilon: float, *, release: str, dataset: str,
                 insecure_noise_seed: int | None = None):
    """``(n_dp, ledger entry)``: the coerced table's row count plus discrete Laplace noise of scale ``1/epsilon``
    (sensitivity 1 under add/remove; the noise from :func:`trust.privacy.noise.noise_source`)."""
    from trust.privacy.ledger import LedgerEntry
    from trust.privacy.mechanisms import discrete_laplace_mechanism, noise_ledger

    n = len(schema.coerce(df)) if isinstance(df, pd.DataFrame) else 0
    noisy = float(discrete_laplace_mechanism([n], 1, epsilon, insecure_noise_seed=insecure_noise_seed)[0])
    entry = LedgerEntry(release=release, mechanism="discrete Laplace (row count for engine='auto')",
                        epsilon=float(epsilon), delta=0.0, accountant="basic", noise_multiplier=1.0 / float(epsilon),
                        sample_rate=1.0, steps=1, max_grad_norm=None, unit_of_privacy="record",
                        adjacency="add/remove", dataset=dataset, noise_source=noise_ledger(insecure_noise_seed),
                        notes="one count of the rows (L1 sensitivity 1); read only by the engine choice.")
    return noisy, entry


def _engine_class(engine: str):
    if engine == "ctabgan":
        from trust.synth.model import CTABGANPlus

        return CTABGANPlus
    from trust.synth.marginal.model import MarginalSynthesizer

    return MarginalSynthesizer


def _settings_for(engine: str, settings: Mapping[str, Any], strict: bool) -> dict[str, Any]:
    """The settings the engine's class takes (``strict``: any other is a ConfigError)."""
    cls = _engine_class(engine)
    names = set(cls().get_params(deep=False))
    out = {k: v for k, v in settings.items() if k in names and k != "mechanism"}
    unknown = [k for k in settings if k not in names or k == "mechanism"]
    if strict and unknown:
        raise ConfigError(f"setting '{unknown[0]}' is not a setting of engine '{engine}'; see "
                          f"help({cls.__name__}) for its settings")
    return out


def _check_settings(settings: Mapping[str, Any]) -> None:
    known = set(_engine_class("ctabgan")().get_params(deep=False)) | set(_engine_class("mst")().get_params(deep=False))
    bad = [k for k in settings if k not in known or k == "mechanism"]
    if bad:
        raise ConfigError(f"setting '{bad[0]}' is a setting of no engine; see help(CTABGANPlus) and "
                          "help(MarginalSynthesizer)")


class Synthesizer(BaseEstimator):
    """A private synthesizer whose engine is named or chosen by the ``auto`` rule (see the module docstring).

    Args:
        engine: ``"auto"`` (default), ``"ctabgan"``, ``"aim"`` or ``"mst"``.
        settings: the engine's settings (``epsilon``, ``delta``, ``random_state``, ...), as a dict.

    Attributes (after fit): engine_ (``ctabgan``, ``aim`` or ``mst``), reason_ (one line), estimator_ (the fitted
    engine).
    """

    def __init__(self, engine: str = "auto", settings: Mapping[str, Any] | None = None) -> None:
        self.engine = engine
        self.settings = settings

    def _choice(self, df: Any, schema: TableSchema | Mapping[str, Any] | None) -> tuple[Choice, Any]:
        """``(choice, ledger entry of the DP row count or None)``."""
        check_option(self.engine, "engine", ENGINES)
        s = dict(self.settings or {})
        if self.engine != "auto":
            return Choice(self.engine, f"engine '{self.engine}' named in the settings"), None
        _check_settings(s)
        if isinstance(schema, Mapping):
            schema = TableSchema.from_dict(schema)
        eps, delta = s.get("epsilon"), float(s.get("delta", 1e-5))
        if eps is None:
            return choose_engine(epsilon=None, delta=delta, sizes={}), None
        if schema is None or not schema.declared:
            raise ConfigError("a DP fit needs a declared schema, not one inferred from the private rows: review a "
                              "draft (trust data schema draft data.csv > schema.json) and pass it with --schema / "
                              "TableSchema.from_dict, or call schema.as_declared() in code")
        sizes = domain_sizes(schema, int(s.get("bins", DEFAULT_BINS)))
        if marginal_guard(sizes) is not None:
            return choose_engine(epsilon=eps, delta=delta, sizes=sizes), None
        prefix = s.get("release_name") or s.get("dataset_name") or "synth"
        n_dp, entry = dp_row_count(df, schema, COUNT_EPSILON_FRACTION * float(eps),
                                   release=f"{prefix}/auto-row-count", dataset=s.get("dataset_name", ""),
                                   insecure_noise_seed=s.get("insecure_noise_seed"))
        return choose_engine(epsilon=eps, delta=delta, sizes=sizes, n_dp=n_dp), entry

    def fit(self, df: pd.DataFrame, schema: TableSchema | Mapping[str, Any] | None = None,
            target: str | None = None) -> "Synthesizer":
        """Choose (``auto``) and fit the engine on ``df``; ``engine_`` and ``reason_`` say which and why.

        Under DP ``auto`` spends :data:`COUNT_EPSILON_FRACTION` of ``epsilon`` on a DP row count (when the table passes
        the marginal engine's guards) and fits the engine with the rest; the count's ledger entry joins the engine's
        ledger (saved with the model, summed in ``privacy_report()``).
        """
        choice, count = self._choice(df, schema)
        s = dict(self.settings or {})
        kw = _settings_for(choice.engine, s, strict=self.engine != "auto")
        if count is not None:
            kw["epsilon"] = float(s["epsilon"]) - count.epsilon
        if s.get("verbose", True) and self.engine == "auto":
            import sys

            print(f"engine: {choice.engine} ({choice.reason})", file=sys.stderr)
        est = _engine_class(choice.engine)(**({"mechanism": choice.engine} if choice.engine != "ctabgan" else {}),
                                           **kw)
        est.fit(df, schema, target=target)
        if count is not None:
            est.ledger_.append(count)
        self.estimator_, self.engine_, self.reason_ = est, choice.engine, choice.reason
        return self

    def sample(self, n: int | None = None, random_state: int | None = None) -> pd.DataFrame:
        """``n`` synthetic rows from the fitted engine (default: its DP row count under DP)."""
        check_is_fitted(self, "estimator_")
        return self.estimator_.sample(n, random_state=random_state)

    def privacy_report(self) -> dict[str, Any]:
        """The fitted engine's privacy report, with ``engine`` and ``engine_reason`` added."""
        check_is_fitted(self, "estimator_")
        return {**self.estimator_.privacy_report(), "engine": self.engine_, "engine_reason": self.reason_}

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Save the fitted engine's model directory (its own kind and files only: a release holds nothing else)."""
        check_is_fitted(self, "estimator_")
        return self.estimator_.save(path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "Synthesizer":
        """Load a directory written by :meth:`save` (or by either engine's own ``save``)."""
        from trust.data.io import MANIFEST

        p = Path(path)
        try:
            kind = json.loads((p / MANIFEST).read_text()).get("kind")
        except (OSError, ValueError):
            raise DataError(f"'{p}' is not a saved synthesizer (no readable {MANIFEST}); pass the directory "
                            "written by save") from None
        from trust.synth.marginal.model import MODEL_KIND, MarginalSynthesizer
        from trust.synth.model import CTABGANPlus

        est = MarginalSynthesizer.load(p) if kind == MODEL_KIND else CTABGANPlus.load(p)
        engine = getattr(est, "engine_", "ctabgan")
        self = cls(engine, None)
        self.estimator_, self.engine_ = est, engine
        self.reason_ = getattr(est, "reason_", f"engine '{engine}' loaded from {p}")
        return self


def check_engine_settings(engine: str, settings: Mapping[str, Any]) -> None:
    """Refuse (one-line ConfigError) a setting that ``engine`` does not take (``auto``: that no engine takes)."""
    check_option(engine, "engine", ENGINES)
    if engine == "ctabgan":
        from trust.synth.settings import SynthSettings

        SynthSettings.check_names(dict(settings))
    elif engine == "auto":
        _check_settings(settings)
    else:
        _settings_for(engine, settings, strict=True)


def create(engine: str = "auto", **settings: Any) -> Synthesizer:
    """An unfitted :class:`Synthesizer` with ``engine`` and the engine's ``settings`` (see the module docstring)."""
    check_option(engine, "engine", ENGINES)
    if engine != "auto":
        _settings_for(engine, settings, strict=True)
    else:
        _check_settings(settings)
    return Synthesizer(engine, dict(settings))


__all__ = ["create", "check_engine_settings", "Synthesizer", "Choice", "choose_engine", "marginal_guard", "dp_row_count", "domain_sizes",
           "ENGINES", "MAX_COLUMNS", "MAX_PAIR_CELLS", "MAX_N_EPSILON", "COUNT_EPSILON_FRACTION"]
