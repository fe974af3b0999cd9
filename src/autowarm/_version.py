"""The package version (kept import-light for the CLI)."""

__version__ = "0.1.0"
