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
