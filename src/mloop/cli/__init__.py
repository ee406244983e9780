"""The ``mloop`` command line."""

from mloop.cli.app import app, main

__all__ = ["app", "main"]
