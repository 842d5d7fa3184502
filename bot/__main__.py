"""`python -m bot`: the terminal interface (see bot/cli.py)."""

import sys

from bot.cli import main

# Worker processes that split a big corpus are spawned; the guard keeps any import of this
# module by them (or by anyone) from starting the CLI.
if __name__ == "__main__":
    sys.exit(main())
