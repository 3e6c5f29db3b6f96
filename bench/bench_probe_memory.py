"""Memory the Probe page adds to the app process (Streamlit Community Cloud: 690 MB-2.7 GB).

In one process (AppTest runs the app in it, as the server does): Predict with a drawing on
the shipped MNIST model, then every tab of Probe (t-SNE map included), then the same for
the shipped cats-vs-dogs model with a random test photo. Prints VmRSS after each step and
VmHWM (the peak) at the end. Embeddings come from $CNN_CACHE_DIR when cached there.

    CNN_DATA_DIR=/work/shared/data PYTHONPATH=.:tests python bench/bench_probe_memory.py
"""

from __future__ import annotations

from helpers import drawn_one, open_page

from cnn import artifacts
from ui import state

TABS = ["Change it", "Cover it", "Training images alike", "Fool it"]


def vm(field: str) -> float:
    """MB of this process's VmRSS or VmHWM."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    return 0.0


def probe_every_tab(at, label: str) -> None:
    at.switch_page("app_pages/probe.py")
    at.run()
    for tab in TABS:
        at.session_state["probe-tab"] = tab
        at.run()
        assert not at.exception, (label, tab, at.exception)
        print(f"  {label} · {tab:<22} RSS {vm('VmRSS'):6.0f} MB")
    at.session_state["probe-tab"] = "Training images alike"
    at.run()
    at.radio(key="probe-map").set_value("tsne").run()
    assert not at.exception
    print(f"  {label} · t-SNE map              RSS {vm('VmRSS'):6.0f} MB")


def main() -> None:
    shipped = {
        r.record.dataset.key: r.path for r in artifacts.list_runs([artifacts.shipped_dir()]) if r.ok
    }
    print(f"start                                RSS {vm('VmRSS'):6.0f} MB")
    at = open_page("app_pages/predict.py", active_run=shipped["mnist"])
    at.session_state[state.CANVAS_KEY] = drawn_one()
    at.run()
    print(f"  Predict, MNIST drawing             RSS {vm('VmRSS'):6.0f} MB")
    probe_every_tab(at, "MNIST")
    at.session_state[state.ACTIVE_RUN] = str(shipped["cats_vs_dogs"])
    at.switch_page("app_pages/predict.py")
    at.run()
    at.segmented_control[0].set_value("Samples").run()
    print(f"  Predict, cats sample               RSS {vm('VmRSS'):6.0f} MB")
    probe_every_tab(at, "cats")
    print(f"peak (VmHWM)                         {vm('VmHWM'):6.0f} MB")


if __name__ == "__main__":
    main()
