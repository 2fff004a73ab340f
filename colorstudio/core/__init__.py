"""Editing core: document model, compositing, brushes, undo and file formats.

numpy, scipy and Pillow only: no Qt and no torch (an import-linter contract enforces it).
"""
