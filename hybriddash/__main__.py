import sys

from hybriddash.cli import main

sys.exit(main())
