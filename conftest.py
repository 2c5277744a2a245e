"""Root of the test run: the library's ``>>>`` examples run as doctests (``--doctest-modules`` on ``trust/``).

``trust/cli/__main__.py`` is not imported (importing it runs the command line). The examples listed in
:data:`DOCTESTS_TO_FIX` do not run as written yet (they use names such as ``X_train`` or fitted models they never
define); each is marked xfail naming the module's owner, who makes it self-contained (tiny seeded data, or
``# doctest: +SKIP`` only where it needs files, said why) and removes its line here.
"""

from __future__ import annotations

import pytest

collect_ignore = ["trust/cli/__main__.py"]

#: doctest item name -> whose module it is (issue 22: every example runs; these are still sketches)
DOCTESTS_TO_FIX: dict[str, str] = {}


def pytest_collection_modifyitems(config, items):  # noqa: ARG001
    for item in items:
        owner = DOCTESTS_TO_FIX.get(item.name) if type(item).__name__ == "DoctestItem" else None
        if owner:
            item.add_marker(pytest.mark.xfail(reason=f"example not self-contained yet ({owner} fixes it)",
                                              strict=False))

