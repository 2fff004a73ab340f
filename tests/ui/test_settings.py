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


def test_the_status_bar_names_the_colorizer_the_settings_choose(editor, monkeypatch, tmp_path):
    """The model label follows the settings' colourizer (the engine loads that one), says when
    it is not installed, and otherwise names the first installed."""
    import dataclasses
    import json

    from colorstudio.ml.manifest import ModelEntry

    models = tmp_path / "models"
    models.mkdir()
    entries = [
        dataclasses.asdict(ModelEntry(name, "colorize", f"{name}.pt", "colorizer_lite0", "0" * 64))
        for name in ("first", "second")
    ]
    (models / "manifest.json").write_text(json.dumps({"models": entries}))
    monkeypatch.setenv("COLORSTUDIO_MODELS_DIR", str(models))
    settings = editor.editor_settings
    editor.editor_settings = dataclasses.replace(settings, colorizer="")
    assert editor._model_label() == "model: first"
    editor.editor_settings = dataclasses.replace(settings, colorizer="second")
    assert editor._model_label() == "model: second"
    editor.editor_settings = dataclasses.replace(settings, colorizer="gone")
    assert "gone is not installed" in editor._model_label()
