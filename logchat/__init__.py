"""logchat: ask questions about your logs, get answers grounded in the actual lines."""

__version__ = "0.1.0"
