"""The breakout-monitor application: command line, configuration, Textual app and screens."""

__version__ = "0.1.0"
