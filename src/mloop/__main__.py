"""``python -m mloop``: the same as the ``mloop`` command."""

from mloop.cli import main

if __name__ == "__main__":
    main()
