"""``python -m evaluation`` is ``mcsf-eval``."""

import sys

from evaluation.cli import main

sys.exit(main())
