"""Tools for the content team: `check` (lint the YAML), `report` (NLU evaluation as HTML),
`mine` (what real customers asked that the bot could not answer).

Entry point: `bot.content.cli.main(argv)`, also `python -m bot.content <command>`.
User guide (Chinese): docs/content-guide.md.
"""

import os as _os

# Rasa pulls in TensorFlow; its start-up chatter is noise for content teams.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
