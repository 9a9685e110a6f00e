"""Back-end services that stand beside the assistant (core-banking stub, agent desk)."""
