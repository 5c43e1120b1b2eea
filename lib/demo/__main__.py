"""`python -m lib.demo --help`: the demo province generator's command line (lib.demo.cli)."""
import sys

from lib.demo.cli import main

sys.exit(main())
