"""Human agent desk: FastAPI service + web console for conversations handed off by the bot.

See services/agent_desk/README.md for the API contract, Redis keys and demo agents.
"""
