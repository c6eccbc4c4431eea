"""Logging to a file in the platform log directory: never to the screen, which Textual owns."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

LOG_FILE_NAME = "breakout-monitor.log"


def log_file_path(log_dir: Path) -> Path | None:
    """The log file the app writes (None when logging could not start: nothing to point to)."""
    path = log_dir / LOG_FILE_NAME
    return path if path.exists() else None


def setup_logging(log_dir: Path, level: str) -> Path | None:
    """Send every log record (and Python warnings, which libraries such as yfinance emit) to a rotating
    file. Returns the file's path, or None when the directory is not writable (then nothing is logged:
    writing to stderr would scribble over the full-screen display)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)
    path = log_dir / LOG_FILE_NAME
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=2_000_000, backupCount=3, encoding="utf-8"
        )
    except OSError:
        root.addHandler(logging.NullHandler())
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    return path
