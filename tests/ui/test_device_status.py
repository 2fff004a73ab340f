"""The status bar names the runtime that runs the networks beside the device of the last
result, whichever arrives first."""


def test_the_status_bar_names_the_runtime_and_the_device(editor):
    editor.show_device_status("device: cpu")
    editor.set_device_status(True, "", "ONNX Runtime 1.20.0")
    assert editor.status_device.text() == "device: cpu · ONNX Runtime 1.20.0"
    editor.show_device_status("device: cuda")
    assert editor.status_device.text() == "device: cuda · ONNX Runtime 1.20.0"
    editor.set_device_status(False, "no runtime for the networks is installed", "")
    assert editor.status_device.text() == "ML unavailable"


def test_the_status_bar_names_the_models_of_the_last_result(editor):
    assert editor.status_model.text() == "model: colorizer"  # before any result
    editor.show_model_status(("stylizer",))
    assert editor.status_model.text() == "model: stylizer"
    editor.show_model_status(("colorizer", "stylizer"))
    assert editor.status_model.text() == "model: colorizer + stylizer"
    editor.show_model_status(())
    assert editor.status_model.text() == "model: none (classical engine)"
