"""The marginal engine: AIM or MST on a discretised table, as an estimator beside CTAB-GAN+.

:class:`MarginalSynthesizer` has the contract of :class:`~trust.synth.CTABGANPlus`: ``fit(df, schema)``,
``sample(n)``, ``save``/``load``, ``privacy_report()``; a DP fit needs a declared, public schema; the noise is
secret; the release holds no exact count, hash, timing or seed of the private table.

Guarantee (``epsilon`` set): ``(epsilon, delta)``-DP for one row under add/remove adjacency, covering the model
directory and every table sampled from it. The mechanism is ``rho``-zCDP with ``rho`` the largest whose
Canonne-Kamath-Steinke conversion at ``delta`` is at most ``epsilon``
(:mod:`trust.synth.marginal.accounting`); the fit's one ledger entry records it.

Not protected: the declared schema (kinds, category lists, bounds: public by definition), the settings, and
anything chosen by looking at the private data. The Gaussian noise and the exponential mechanism's Gumbel draws
are floating-point samplers (NumPy's PCG64 seeded from 128 bits of OS entropy at every fit): the floating-point
attack on textbook samplers (Mironov 2012) is not mitigated, as for DP-SGD's noise.

What a DP fit never holds or releases: the exact row count (``sample()``'s default is the model's total, a DP
estimate from the noisy measurements), a hash of the data, fit timings, or a seed of the noise. The noise
comes from :func:`trust.privacy.noise.noise_source` afresh at every fit; ``insecure_noise_seed`` makes it
reproducible for tests and every ledger entry then says so. ``random_state`` seeds only post-processing:
sampling rows from the fitted model and placing values inside their bins.

Input under DP: only public-schema checks may fail (a declared column absent, a schema not declared, a numeric
column without bounds); values are coerced (:meth:`trust.data.schema.TableSchema.coerce`).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from trust._validation import check_is_fitted, check_option, check_random_state, check_scalar, fork_seed
from trust.data.io import model_dir_writer, read_model_dir
from trust.data.schema import TableSchema, check_category_lists, infer_schema
from trust.errors import ConfigError, DataError
from trust.privacy.ledger import PrivacyLedger
from trust.privacy.noise import noise_source
from trust.synth.marginal import accounting
from trust.synth.marginal.domain import Discretizer
from trust.synth.marginal.mechanisms import Settings, import_mbi, run_aim, run_mst

MECHANISMS = ("aim", "mst")
MODEL_KIND = "marginal-synth"
_STATE_VERSION = 1
_NAMES = {"aim": "AIM (McKenna et al. 2022)", "mst": "MST (McKenna et al. 2021)"}


@contextlib.contextmanager
def _seeded_numpy(seed: int):
    """NumPy's global generator seeded with ``seed`` inside (mbi's sampling draws from it); restored on exit."""
    state = np.random.get_state()
    np.random.seed(seed % 2**32)
    try:
        yield
    finally:
        np.random.set_state(state)


class MarginalSynthesizer(BaseEstimator):
    """Marginal-based synthesizer: AIM or MST (McKenna et al.) over ``mbi``'s graphical models.

    Method (see :mod:`trust.synth.marginal.mechanisms` for the loops): the table is discretised from public
    metadata (:mod:`trust.synth.marginal.domain`); the mechanism measures noisy marginals (Gaussian noise, the
    exponential mechanism choosing which), ``mbi`` fits a Markov random field to them by mirror descent, and rows
    are sampled from that model and decoded (uniform within a numeric bin).

    Deviations from the papers (their effects are measured in ``benchmarks/README.md``, "Synthesis engines"):

    * Numeric columns are cut into ``bins`` equal-width bins over their declared bounds (log domain for ``log``
      columns), point masses and missing values getting their own codes; the papers take discrete data as given.
    * AIM's estimation runs ``iters`` mirror-descent iterations per round (paper code: 1,000) and ``final_iters``
      at the end, and the model may grow to ``max_model_size`` MB (paper: 80), so that a fit takes minutes on
      two CPU cores instead of hours; the workload is every pair of columns (the paper evaluates 3-way
      workloads too).
    * MST's selection model runs ``iters`` iterations (paper code: 2,500), its final fit ``final_iters``
      (paper code: 10,000).
    * The model's marginals for the selection step are computed with NumPy (same variable elimination).

    Args:
        mechanism: ``"aim"`` (default) or ``"mst"``.
        epsilon: total privacy budget (None: no DP: exact marginals, greedy selection).
        delta: the guarantee's delta.
        bins: equal-width bins per numeric column (default 16, smartnoise's choice for MST).
        iters: mirror-descent iterations per intermediate refit.
        final_iters: iterations of the final fit.
        max_model_size: AIM's cap on the model's size in MB.
        max_cells: AIM's workload keeps column pairs with at most this many cells.
        rounds: AIM's ``T`` (None: 16 per column).
        dataset_name: the protected dataset's name for the ledger.
        release_name: prefix of the ledger release name (default ``dataset_name``, else ``synth``).
        insecure_noise_seed: None (default: OS entropy, the only setting that backs the guarantee) or an integer
            that makes the noise reproducible, FOR TESTS ONLY (the ledger says so).
        random_state: seed of the post-processing (sampling, placement within bins).
        verbose: progress bar of the rounds on stderr.

    Attributes (after fit):
        engine_ (the mechanism), schema_, discretizer_, model_ (the ``mbi`` Markov random field), compress_ (MST's
        merged codes), ledger_, budget_ (:class:`~trust.synth.marginal.accounting.ZCDPBudget`), sample_rows_,
        dp_, reason_ (one line: what ran).
    """

    def __init__(self, mechanism: str = "aim", *, epsilon: float | None = None, delta: float = 1e-5, bins: int = 16,
                 iters: int = 300, final_iters: int = 2000, max_model_size: float = 20.0, max_cells: int = 10000,
                 rounds: int | None = None, dataset_name: str = "", release_name: str = "",
                 insecure_noise_seed: int | None = None, random_state: int | None = None,
                 verbose: bool = True) -> None:
        self.mechanism = mechanism
        self.epsilon = epsilon
        self.delta = delta
        self.bins = bins
        self.iters = iters
        self.final_iters = final_iters
        self.max_model_size = max_model_size
        self.max_cells = max_cells
        self.rounds = rounds
        self.dataset_name = dataset_name
        self.release_name = release_name
        self.insecure_noise_seed = insecure_noise_seed
        self.random_state = random_state
        self.verbose = verbose

    @property
    def dp(self) -> bool:
        """Whether fitting uses differential privacy."""
        return self.epsilon is not None

    def _check_params(self) -> None:
        check_option(self.mechanism, "mechanism", MECHANISMS)
        check_scalar(self.epsilon, "epsilon", float, min_val=0, include_boundaries="neither", allow_none=True)
        check_scalar(self.delta, "delta", float, min_val=0, max_val=1, include_boundaries="neither")
        check_scalar(self.bins, "bins", int, min_val=2)
        for k in ("iters", "final_iters", "max_cells"):
            check_scalar(getattr(self, k), k, int, min_val=1)
        check_scalar(self.rounds, "rounds", int, min_val=1, allow_none=True)
        check_scalar(self.max_model_size, "max_model_size", float, min_val=0, include_boundaries="neither")
        check_scalar(self.insecure_noise_seed, "insecure_noise_seed", int, min_val=0, allow_none=True)

    def _resolve_schema(self, df: Any, schema: TableSchema | Mapping[str, Any] | None,
                        target: str | None) -> TableSchema:
        if not isinstance(df, pd.DataFrame):
            raise DataError(f"fit expects a pandas DataFrame, got {type(df).__name__}")
        if isinstance(schema, Mapping):
            schema = TableSchema.from_dict(schema)
        elif schema is not None and not isinstance(schema, TableSchema):
            raise ConfigError(f"schema must be a TableSchema, a dict or None, got {type(schema).__name__}")
        if self.dp and (schema is None or not schema.declared):
            raise ConfigError("a DP fit needs a declared schema, not one inferred from the private rows: review a "
                              "draft (trust data schema draft data.csv > schema.json) and pass it with --schema / "
                              "TableSchema.from_dict, or call schema.as_declared() in code")
        if self.dp:
            check_category_lists(schema, None)  # rules on the public lists alone: nothing private decides
            _require_reviewed(schema)
        if schema is None:
            if len(df) == 0:
                raise DataError("the table has no rows; pass a table with at least one row")
            schema = infer_schema(df, target=target)
        if target is not None and target not in schema.columns:
            raise DataError(f"target '{target}' is not a column of the schema; choose one of: "
                            f"{', '.join(schema.names)}")
        if len(schema.columns) < 2:
            raise ConfigError("the marginal engine needs at least two columns (it models their joint distribution)")
        tgt = target if target is not None else schema.target
        ptype = schema.problem_type if tgt == schema.target else None
        return TableSchema(dict(schema.columns), tgt, ptype, dict(schema.meta))

    def fit(self, df: pd.DataFrame, schema: TableSchema | Mapping[str, Any] | None = None,
            target: str | None = None) -> "MarginalSynthesizer":
        """Discretise ``df`` and run the mechanism.

        Args:
            df: the real table.
            schema: declared (public) schema; None infers one, which a DP fit refuses.
            target: the downstream target column (overrides the schema's; recorded only).

        Raises:
            ConfigError: bad settings; under DP an inferred or unreviewed schema, a numeric column without declared
                bounds or a categorical one without declared categories.
            DataError: not a DataFrame, a declared column absent; without DP also invalid values.
        """
        self._check_params()
        schema = self._resolve_schema(df, schema, target)
        if self.mechanism == "aim" and self.rounds is not None and self.rounds <= len(schema.columns):
            raise ConfigError(f"rounds={self.rounds} must exceed the number of columns ({len(schema.columns)}): AIM's "
                              "first step measures every one-way marginal at one round's noise; use None (16 per "
                              "column) or a larger number")
        df = schema.coerce(df) if self.dp else schema.validate(df)
        disc = Discretizer.from_schema(schema, self.bins, None if self.dp else df)
        mbi = import_mbi()
        data = mbi.Dataset(disc.encode(df), mbi.Domain(disc.names, disc.shape))
        noise = noise_source(self.insecure_noise_seed, stream=f"marginal-{self.mechanism}") if self.dp else None
        # a hair below the conversion's rho, so that the floating-point sum of the spends never converts past epsilon
        rho = accounting.zcdp_rho(self.epsilon, self.delta) * (1 - 1e-9) if self.dp else math.inf
        budget = accounting.ZCDPBudget(rho)
        fitted = self._run(data, budget, noise.numpy if noise is not None else None)
        self.schema_, self.discretizer_, self.dp_, self.engine_ = schema, disc, self.dp, self.mechanism
        self.model_, self.compress_, self.budget_ = fitted.model, dict(fitted.compress), budget
        self.sample_rows_ = max(1, int(round(float(fitted.model.total))))
        rounds = sum(1 for s in budget.spends if s["kind"] == "exponential")
        self.reason_ = (f"{self.mechanism.upper()}: {len(fitted.measurements)} marginals measured"
                        + (f", {rounds} selected by the exponential mechanism, rho {budget.used:.4g}" if self.dp
                           else ", exact (no DP)"))
        self.ledger_ = PrivacyLedger()
        if self.dp:
            self.ledger_.append(accounting.ledger_entry(
                budget, self.delta, release=f"{self.release_name or self.dataset_name or 'synth'}/{self.mechanism}",
                mechanism=f"{_NAMES[self.mechanism]}: Gaussian marginal measurements, exponential-mechanism "
                          "selection (zCDP)", dataset=self.dataset_name, noise_source=noise.ledger,
                notes=f"Discretised from the declared schema ({self.bins} bins per numeric column over declared "
                      "bounds); the graphical model (mbi) and the synthetic rows are post-processing."))
        return self

    def _run(self, data, budget, rng):
        from tqdm.auto import tqdm

        bar = tqdm(desc=f"{self.mechanism.upper()}" + (" (DP)" if self.dp else ""), unit="step",
                   disable=not self.verbose)
        settings = Settings(iters=self.iters, final_iters=self.final_iters, max_model_size=float(self.max_model_size),
                            max_cells=self.max_cells, rounds=self.rounds,
                            progress=lambda msg: (bar.set_postfix_str(msg[:60]), bar.update(1)))
        try:
            return (run_aim if self.mechanism == "aim" else run_mst)(data, budget, rng, settings)
        finally:
            bar.close()

    def sample(self, n: int | None = None, conditions: Mapping[str, Any] | None = None,
               random_state: int | None = None) -> pd.DataFrame:
        """``n`` synthetic rows (default :attr:`sample_rows_`: the model's total, a DP estimate under DP).

        ``random_state`` (default the model's) seeds the draw: the same seed gives the same rows. ``conditions`` is
        CTAB-GAN+'s; the marginal engine has none (a ConfigError if given).
        """
        check_is_fitted(self, "model_")
        if conditions:
            raise ConfigError("the marginal engine samples without conditions; filter the rows, or use CTAB-GAN+")
        n = self.sample_rows_ if n is None else check_scalar(n, "n", int, min_val=1)
        rng = check_random_state(random_state if random_state is not None else self.random_state)
        with _seeded_numpy(fork_seed(rng)):
            syn = self.model_.synthetic_data(int(n))
            if self.compress_:
                syn = syn.decompress(self.compress_)
        codes = {c: np.asarray(v, dtype=np.int64) for c, v in syn.to_dict().items()}
        return self.discretizer_.decode(codes, rng)

    def privacy_report(self) -> dict[str, Any]:
        """The guarantee of the fitted model: ``dp``, ``engine``, ``epsilon``/``delta`` (ledger total), ``rho``,
        ``accountant``, ``noise_sources``, ``entries``, ``sentences``, ``reason`` and the per-step ``spends``."""
        check_is_fitted(self, "model_")
        base = {"engine": self.engine_, "reason": self.reason_, "bins": self.bins}
        if not self.dp_:
            return {**base, "dp": False, "epsilon": None, "delta": None, "rho": None, "accountant": None,
                    "noise_sources": [], "entries": [], "spends": [],
                    "sentences": [f"No differential privacy: {self.engine_.upper()} measured exact marginals of the "
                                  "raw table; treat the synthetic data as derived from personal data."]}
        eps, delta = self.ledger_.total()
        return {**base, "dp": True, "epsilon": eps, "delta": delta, "rho": self.budget_.used,
                "rho_budget": self.budget_.rho, "accountant": "zcdp",
                "noise_sources": [e.noise_source for e in self.ledger_], "entries": self.ledger_.to_list(),
                "spends": [dict(s) for s in self.budget_.spends], "sentences": [e.sentence() for e in self.ledger_]}

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Save to the directory ``path`` (``model.json`` and the potentials in ``potentials.npz``), atomically."""
        check_is_fitted(self, "model_")
        pots = self.model_.potentials
        state = {"version": _STATE_VERSION, "params": self.get_params(), "schema": self.schema_.to_dict(),
                 "discretizer": self.discretizer_.to_dict(), "ledger": self.ledger_.to_list(),
                 "budget": {"rho": None if math.isinf(self.budget_.rho) else self.budget_.rho,
                            "spends": self.budget_.spends},
                 "domain": {"attributes": list(pots.domain.attributes), "shape": list(pots.domain.shape)},
                 "cliques": [list(cl) for cl in pots.cliques], "total": float(self.model_.total),
                 "compress": {k: v.tolist() for k, v in self.compress_.items()}, "sample_rows": self.sample_rows_,
                 "dp": self.dp_, "engine": self.engine_, "reason": self.reason_}
        with model_dir_writer(path, kind=MODEL_KIND) as tmp:
            np.savez(tmp / "potentials.npz", **{f"p{i}": np.asarray(pots[cl].values) for i, cl in
                                                enumerate(pots.cliques)})
            (tmp / "model.json").write_text(json.dumps(state, indent=1))
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "MarginalSynthesizer":
        """Load a model saved with :meth:`save` (a DataError names a missing, foreign or damaged file)."""
        path = Path(path)
        read_model_dir(path, kind=MODEL_KIND, files=("model.json", "potentials.npz"), what="marginal model")
        try:
            state = json.loads((path / "model.json").read_text())
            arrays = np.load(path / "potentials.npz", allow_pickle=False)
        except (ValueError, OSError, UnicodeDecodeError) as e:
            raise DataError(f"'{path}' holds a damaged marginal model ({type(e).__name__}); save it again") from None
        if not isinstance(state, dict) or state.get("version") != _STATE_VERSION:
            raise DataError(f"'{path}' holds marginal model state of another version; refit the model")
        self = cls(**state["params"])
        self.schema_ = TableSchema.from_dict(state["schema"])
        self.discretizer_ = Discretizer.from_dict(state["discretizer"])
        self.ledger_ = PrivacyLedger.from_list(state["ledger"])
        rho = state["budget"]["rho"]
        self.budget_ = accounting.ZCDPBudget(math.inf if rho is None else rho, list(state["budget"]["spends"]))
        self.compress_ = {k: np.asarray(v, dtype=np.int64) for k, v in state["compress"].items()}
        self.sample_rows_, self.dp_ = int(state["sample_rows"]), bool(state["dp"])
        self.engine_, self.reason_ = state["engine"], state["reason"]
        self.model_ = _rebuild(state, [arrays[f"p{i}"] for i in range(len(state["cliques"]))])
        return self


def _rebuild(state: Mapping[str, Any], tables: list[np.ndarray]):
    """The Markov random field from its saved potentials (marginals recomputed by message passing)."""
    import jax.numpy as jnp

    mbi = import_mbi()
    dom = mbi.Domain(state["domain"]["attributes"], state["domain"]["shape"])
    cliques = [tuple(cl) for cl in state["cliques"]]
    pots = mbi.CliqueVector(dom, cliques, {cl: mbi.Factor(dom.project(cl), jnp.asarray(t))
                                           for cl, t in zip(cliques, tables)})
    total = float(state["total"])
    marginals = mbi.marginal_oracles.message_passing_stable(pots, total)
    return mbi.MarkovRandomField(potentials=pots, marginals=marginals, total=total)


def _require_reviewed(schema: TableSchema) -> None:
    """``trust.data.schema.require_reviewed`` where the platform has added it (an unreviewed draft is refused)."""
    from trust.data import schema as schema_module

    check = getattr(schema_module, "require_reviewed", None)
    if check is not None:
        check(schema)


__all__ = ["MarginalSynthesizer", "MECHANISMS", "MODEL_KIND"]
