"""Web attacks (classes 5-7, 0)."""
