"""``python -m training`` is ``mcsf-train``."""

import sys

from training.cli import main

sys.exit(main())
