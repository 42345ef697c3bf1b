"""callscope: conversation intelligence for recorded sales calls."""

__version__ = "0.1.0"
