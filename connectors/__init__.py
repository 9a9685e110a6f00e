"""Rasa input/output channels: mobile app, WeChat, human handoff."""
