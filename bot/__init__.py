"""The assistant's own Python: settings, custom NLU components and command-line entry points."""
