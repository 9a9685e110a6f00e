"""Core-banking stub: a FastAPI service standing in for the bank's core systems.

Run it with `python -m services.core_banking serve --port 8001`; see README.md.
"""
