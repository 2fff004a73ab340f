"""``python -m colorstudio`` opens the editor (same as the ``colorstudio`` command)."""

import sys

from colorstudio.cli import main

if __name__ == "__main__":
    sys.exit(main())
