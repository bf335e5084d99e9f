"""`python -m bench.pricing [evaluate|speed] [options]`."""

import sys

from bench.pricing.cli import main

if __name__ == "__main__":
    sys.exit(main())
