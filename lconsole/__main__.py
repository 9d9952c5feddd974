import sys

from lconsole.cli.main import main

sys.exit(main())
