"""Settings: typed, with defaults that survive a damaged store; the dialog round-trips them."""

from PySide6.QtCore import QSettings

from colorstudio.ui.settings_dialog import EditorSettings, SettingsDialog


def test_damaged_values_fall_back_to_defaults(tmp_path):
    store = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    store.setValue("editor/device", "quantum")
    store.setValue("editor/cpu_threads", "many")
    store.setValue("editor/autosave_seconds", -5)
    store.setValue("editor/history_mb", 2048)
    settings = EditorSettings.load(store)
    assert settings.device == "auto" and settings.cpu_threads == 0
    assert settings.autosave_seconds == 10 and settings.history_mb == 2048


def test_save_load_round_trip(tmp_path):
    store = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    EditorSettings(
        device="cpu", colorizer="colorizer", cpu_threads=1, autosave_seconds=30, history_mb=512
    ).save(store)
    assert EditorSettings.load(store) == EditorSettings("cpu", "colorizer", 1, 30, 512)


def test_dialog_returns_what_it_shows(qtbot):
    original = EditorSettings(device="cpu", cpu_threads=1, autosave_seconds=45, history_mb=256)
    dialog = SettingsDialog(original)
    qtbot.addWidget(dialog)
    dialog.autosave.setValue(90)
    result = dialog.result_settings()
    assert result.device == "cpu" and result.autosave_seconds == 90 and result.history_mb == 256
    assert result.cpu_threads == 1 and result.colorizer == ""
