"""The editing session, Qt-free: tools, generation requests and results, jobs, previews.

Imports neither PySide6 nor torch (an import-linter contract): the window binds it to widgets,
the worker runs its requests.
"""
