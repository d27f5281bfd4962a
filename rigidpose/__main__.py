import sys

from rigidpose.cli import main

sys.exit(main())
