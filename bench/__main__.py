"""`python -m bench SCENARIO [options]`; `python -m bench --help` lists the scenarios."""

import sys

from bench.cli import main

if __name__ == "__main__":  # worker processes are spawned: they import this module too
    sys.exit(main())
