"""``python -m cluster`` does what the ``shock`` command does."""

from cluster.cli import main

main()
