"""``python -m petri`` runs the command line."""

from petri.cli import main

main()
