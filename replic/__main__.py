"""``python -m replic``: the command line."""

import sys

from replic.cli import main

sys.exit(main())
