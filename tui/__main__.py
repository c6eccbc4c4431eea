"""`python -m tui` starts the monitor, exactly as the `breakout-monitor` command does."""

from tui.cli import main

raise SystemExit(main())
