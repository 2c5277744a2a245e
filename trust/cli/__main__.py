"""`python -m trust.cli`: the same as the `trust` console script."""

from trust.cli import main

main()
