"""Real Estate OS: one system from property list to signed offer."""

__version__ = "0.1.0"
