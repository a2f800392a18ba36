"""``python -m training`` is ``mcsf-train``."""

import sys

from training.cli import main

if __name__ == "__main__":  # spawned SubprocVecEnv workers import this module too
    sys.exit(main())
