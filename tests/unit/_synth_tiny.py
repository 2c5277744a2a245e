"""The tiny CTAB-GAN+ setting several synthesis tests share: small networks, a two-class table with a class
signal and its declared schema (categories and bounds written out, as a DP fit requires)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trust.data import infer_schema

SMALL = dict(generator_dims=(16,), critic_dims=(16,), aux_dims=(8,), noise_dim=4, aux_epochs=1, verbose=False)


def table(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """``x`` numeric, ``c`` categorical, target ``y``: both features carry the class."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    return pd.DataFrame({"x": rng.normal(2.0 * y, 1.0),
                         "c": np.where(rng.random(n) < 0.8, np.where(y == 1, "a", "b"), "c"),
                         "y": np.where(y == 1, "yes", "no")})


def declared_schema(df: pd.DataFrame):
    return infer_schema(df, target="y", categorical=["c", "y"], categories={"c": ["a", "b", "c"], "y": ["no", "yes"]},
                        bounds={"x": (-6.0, 8.0)}).as_declared()
