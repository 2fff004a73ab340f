"""File formats: image import/export, OpenRaster projects, atomic writes and autosave."""
