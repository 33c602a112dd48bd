"""`python -m gate.cli`: the same as the `gate` command."""

from gate.cli import main

main()
