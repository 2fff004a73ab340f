"""ColorStudio: an offline editor for colourizing, restyling and repairing images."""

__version__ = "0.1.0"
