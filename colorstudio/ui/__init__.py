"""Qt widgets. No torch here: the UI talks to workers with frozen request objects."""
