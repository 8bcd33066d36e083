"""The ``icaht`` command line (console script ``icaht = icaht.cli:main``); the commands live in
:mod:`icaht.cli.main` and its group modules, the shared options in :mod:`icaht.cli.common`."""

from icaht.cli.main import app, main

__all__ = ["app", "main"]
