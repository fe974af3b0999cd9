"""``python -m autowarm`` is the same as the ``autowarm`` console script."""

from autowarm.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
