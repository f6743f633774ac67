import sys

from elkeid.cli import main

sys.exit(main())
