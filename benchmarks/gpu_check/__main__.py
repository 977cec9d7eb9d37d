"""``python -m benchmarks.gpu_check``: see the package docstring."""
import logging
import sys

from benchmarks.gpu_check.cli import main

logging.basicConfig(level=logging.INFO, format="%(message)s")
sys.exit(main())
