"""The README's other half of blocks (see :func:`test_readme_blocks._params`): a file of its own so that the two
workers of ``make test`` (``--dist loadfile``) run the halves side by side."""

from __future__ import annotations

import pytest

from test_readme_blocks import _params, run_block, scratch  # noqa: F401  (scratch: the module fixture, shared)


@pytest.mark.parametrize("block", list(_params(1)))
def test_a_readme_block_runs_as_printed(block, scratch, tmp_path):  # noqa: F811
    run_block(block, scratch, tmp_path)
