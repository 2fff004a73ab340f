"""Background QThreads (QtCore only). The GUI thread never imports or runs torch: workers do."""
