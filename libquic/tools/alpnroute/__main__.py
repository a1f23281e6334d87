import sys

from libquic.tools.alpnroute.cli import main

if __name__ == "__main__":
    sys.exit(main())
