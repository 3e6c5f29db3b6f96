"""The training time-lapse: snapshots taken while a real model trains, saved with its run."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from cnn import artifacts, timelapse
from cnn.__main__ import main
from cnn.inspect import Inspector
from cnn.training import TrainConfig, train


@pytest.fixture(autouse=True)
def offline_mnist(monkeypatch, empty_data_dir):
    monkeypatch.setenv("CNN_DATA_DIR", str(empty_data_dir))


def test_snapshots_are_taken_a_few_times_in_epoch_one_then_once_an_epoch():
    assert timelapse.frame_steps(100, 3) == {
        0: 0.0, 10: 0.1, 25: 0.25, 50: 0.5, 75: 0.75, 100: 1.0, 200: 2.0, 300: 3.0
    }  # fmt: skip
    long = timelapse.frame_steps(10, 100)
    epochs = [e for e in long.values() if e >= 1]
    assert len(epochs) <= timelapse.MAX_EPOCH_FRAMES + 1 and epochs[0] == 1 and epochs[-1] == 100
    assert list(long) == sorted(long)  # training order
    assert timelapse.frame_steps(2, 1) == {0: 0.0, 1: 0.5, 2: 1.0}  # a tiny epoch: no repeats


def last_frame_is_the_saved_model(run_dir) -> timelapse.Timelapse:
    lapse = timelapse.load(run_dir)
    run = artifacts.load_run(run_dir)
    now = Inspector(run.model).probabilities(lapse.probe_images.astype(np.float32) / 255)
    np.testing.assert_allclose(lapse.probabilities[-1], now, atol=2e-3)  # probes kept as uint8
    return lapse


def test_a_run_carries_its_time_lapse(tiny_run, capsys):
    record = artifacts.read_run_info(tiny_run).record
    assert record.timelapse is not None and record.timelapse.frames >= 3
    lapse = last_frame_is_the_saved_model(tiny_run)
    frames = len(lapse)
    assert frames == record.timelapse.frames
    assert lapse.frame_epochs[0] == 0 and np.all(np.diff(lapse.frame_steps) > 0)
    assert lapse.frame_epochs[-1] == 1.0 and np.isnan(lapse.loss[0]) and np.isfinite(lapse.loss[-1])
    probes = len(lapse.probe_images)
    assert probes == 10 and sorted(lapse.probe_classes) == list(range(10))
    assert lapse.probabilities.shape == (frames, probes, 10)
    np.testing.assert_allclose(lapse.probabilities.sum(axis=-1), 1.0, atol=1e-4)
    assert lapse.filters.shape[0] == frames and lapse.filters.shape[-1] == 10  # TinyVGG's conv1
    assert not np.array_equal(lapse.filters[0], lapse.filters[-1])  # they learned
    assert lapse.gradcam.shape[:2] == (frames, probes) and lapse.gradcam.dtype == np.uint8
    assert lapse.confusion.shape == (frames, 10, 10) and lapse.confusion[0].sum() > 0
    assert (
        list(lapse.maps) == record.timelapse.layers == ["conv1_1", "conv1_2", "conv2_1", "conv2_2"]
    )
    assert all(m.shape[:2] == (frames, probes) and m.dtype == np.uint8 for m in lapse.maps.values())
    assert record.timelapse.bytes == (tiny_run / timelapse.FILE).stat().st_size < 2_000_000

    assert main(["timelapse", "--model", str(tiny_run), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [p["label"] for p in doc["probes"]] == [str(c) for c in lapse.probe_classes]
    assert [f["epoch"] for f in doc["frames"]] == sorted(f["epoch"] for f in doc["frames"])
    assert set(doc["frames"][0]) >= {"epoch", "step", "loss", "accuracy", "probabilities"}
    np.testing.assert_allclose(
        doc["frames"][-1]["probabilities"], lapse.probabilities[-1], atol=1e-5
    )


def test_a_stopped_run_ends_its_time_lapse_on_the_weights_it_kept(tmp_path):
    stop = threading.Event()
    events = []

    def on_event(event):
        events.append(event)
        if event.kind == "batch" and event.step >= 20:
            stop.set()

    config = TrainConfig(
        dataset="mnist", arch="tiny_vgg", epochs=3, max_samples=2000, batch_size=32
    )
    result = train(config, events=on_event, stop=stop, out_dir=tmp_path)
    assert result.state == "stopped"
    lapse = last_frame_is_the_saved_model(result.run_dir)
    assert 0 < lapse.frame_epochs[-1] < 1  # stopped inside epoch 1
    snapshots = [e for e in events if e.kind == "snapshot"]
    assert len(snapshots) == len(lapse) and snapshots[0].snapshot["epoch"] == 0


def test_the_time_lapse_can_be_turned_off(capsys, tmp_path):
    argv = ["--dataset", "mnist", "--arch", "tiny_vgg", "--epochs", "1", "--max-samples", "300"]
    assert main(["train", *argv, "--no-timelapse", "--out", str(tmp_path), "--json"]) == 0
    run_dir = json.loads(capsys.readouterr().out)["run_dir"]
    assert not (tmp_path / run_dir / timelapse.FILE).exists()
    assert json.loads((tmp_path / run_dir / "run.json").read_text())["timelapse"] is None
    assert main(["timelapse", "--model", run_dir]) == 2
    assert "no time-lapse" in capsys.readouterr().err


def test_the_drawing_is_followed_too(tmp_path):
    drawing = np.zeros((28, 28, 1), np.float32)
    drawing[4:24, 13:15] = 1.0  # a "1"
    config = TrainConfig(dataset="mnist", arch="tiny_vgg", epochs=1, max_samples=300, batch_size=32)
    result = train(config, out_dir=tmp_path, extra_probes=[("your drawing", drawing)])
    info = result.record.timelapse
    assert info.probes[-1] == {"label": "your drawing", "class": -1, "index": -1}
    lapse = timelapse.load(result.run_dir)
    np.testing.assert_array_equal(lapse.probe_images[-1], np.rint(drawing * 255))
    assert lapse.probe_classes[-1] == -1


def test_the_time_lapse_plays_without_transitions_and_names_its_grad_cam(tiny_run):
    """Every frame change (Play, a slider step, the slider) is immediate: plotly.js's default
    500 ms transition blanked the image and heatmap panels while it played (the browser test
    shows it); the Grad-CAM panel says what it is, not that it is where the model looked."""
    from ui.timelapse import timelapse_figure

    lapse = timelapse.load(tiny_run)
    fig = timelapse_figure(lapse, [str(c) for c in range(10)], 0, "conv1_1", "a 7")
    play = fig.layout.updatemenus[0].buttons[0]
    (slider,) = fig.layout.sliders
    calls = [play.args[1], *(step.args[1] for step in slider.steps)]
    assert len(calls) == len(lapse) + 1
    assert all(call["transition"]["duration"] == 0 for call in calls)
    assert slider.transition.duration == 0
    titles = [a.text for a in fig.layout.annotations]
    assert "Grad-CAM at the last conv layer" in titles
    assert not any("looked" in t for t in titles)


def test_a_snapshot_can_be_shown_without_playing(tiny_run):
    """The keyboard's way through the time-lapse (Models' select slider): the figure at a
    snapshot holds exactly that frame's pictures and curves, its slider set there."""
    from ui.timelapse import at_frame, timelapse_figure

    lapse = timelapse.load(tiny_run)
    fig = timelapse_figure(lapse, [str(c) for c in range(10)], 0, "conv1_1", "a 7")
    last = len(lapse) - 1
    shown = at_frame(fig, last)
    assert shown.layout.sliders[0].active == last
    import json

    from plotly.utils import PlotlyJSONEncoder

    def as_json(value) -> str:
        return json.dumps(value, cls=PlotlyJSONEncoder, sort_keys=True)

    for trace, data in zip(fig.frames[last].traces, fig.frames[last].data, strict=True):
        want = {**fig.data[trace].to_plotly_json(), **data.to_plotly_json()}
        assert as_json(shown.data[trace].to_plotly_json()) == as_json(want)
    changed = [as_json(shown.data[t]) != as_json(fig.data[t]) for t in fig.frames[last].traces]
    assert any(changed)  # the last snapshot is not the first
    assert fig.layout.sliders[0].active == 0  # the cached figure is left as it was
