"""Presenter mode: larger type and pictures for a projector, switched on in the sidebar.

It is a session setting (`state.PRESENTER`); pages ask `px(size)` for picture sizes and the
router calls `style()` once per run to enlarge the type.
"""

from __future__ import annotations

import streamlit as st

from cnn.i18n import tr

PRESENTER = "presenter"  # session-state key of the switch
SCALE = 1.5  # pictures grow by this much
ROOT_FONT = "19px"  # Streamlit's type is sized in rem: a larger root enlarges it all


def on() -> bool:
    """Whether presenter mode is on in this session."""
    return bool(st.session_state.get(PRESENTER, False))


def px(size: int) -> int:
    """A picture size in pixels, enlarged in presenter mode."""
    return round(size * SCALE) if on() else size


def toggle_ui() -> None:
    """The sidebar switch."""
    st.toggle(
        tr("Presenter mode"),
        key=PRESENTER,
        help=tr("Larger type and pictures, for showing on a projector."),
    )


# less empty space above the title, so the answer on Predict fits a 720 px projector
TOP_PADDING = "[data-testid='stMainBlockContainer'] { padding-top: 2.5rem; }"


def style() -> None:
    """Page styles: a smaller top margin, and larger type in presenter mode (no script)."""
    larger = f"html {{ font-size: {ROOT_FONT}; }}" if on() else ""
    st.html(f"<style>{TOP_PADDING} {larger}</style>")
