"""`python -m cnn ...`: the command line (see `cnn.cli`)."""

import sys

from cnn.cli import main

if __name__ == "__main__":
    sys.exit(main())
