import sys

from bot.content.cli import main

sys.exit(main(sys.argv[1:]))
