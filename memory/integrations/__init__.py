"""Adapters to the frameworks chatbot developers already use (each an optional extra)."""
