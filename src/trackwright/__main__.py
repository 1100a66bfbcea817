"""``python -m trackwright`` runs the command-line program."""

from trackwright.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
