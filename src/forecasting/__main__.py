"""``python -m forecasting``: the same command line as the ``forecasting`` script."""

import sys

from .cli import main

sys.exit(main())
