"""Dashboard widgets, one per module. They receive data from their screen and never fetch it."""
