"""Where things live: shipped models and resources, user data, the recovery folder.

Environment overrides (tests and portable installs): COLORSTUDIO_MODELS_DIR, COLORSTUDIO_DATA_DIR.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "colorstudio"


def install_root() -> Path:
    """The folder holding ``models/`` and ``resources/``: the frozen bundle or the source tree."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen)
    return Path(__file__).resolve().parent.parent


def models_dir() -> Path:
    override = os.environ.get("COLORSTUDIO_MODELS_DIR")
    return Path(override) if override else install_root() / "models"


def resources_dir() -> Path:
    return install_root() / "resources"


def data_dir() -> Path:
    override = os.environ.get("COLORSTUDIO_DATA_DIR")
    return (
        Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    )


def recovery_dir() -> Path:
    return data_dir() / "recovery"


def settings_path() -> Path:
    return data_dir() / "settings.json"
