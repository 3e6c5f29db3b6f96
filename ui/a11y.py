"""Accessibility helpers every page shares (issue 32, WCAG 2.1 AA): a text for screen readers
beside a chart or a picture that has no `alt` of its own, and the page styles that go with it.

Images take their text alternative in `st.image(..., alt=...)`; a chart (plotly) is described
by `described_ui(cnn.describe.curve(...))` right after it.
"""

from __future__ import annotations

import html

import streamlit as st

# read by screen readers, not drawn (the usual visually-hidden pattern)
SR_ONLY = (
    ".sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px;"
    " overflow: hidden; clip: rect(0, 0, 0, 0); white-space: nowrap; border: 0; }"
)


def style() -> None:
    """The styles the helpers here need, once per run (the router calls it)."""
    st.html(f"<style>{SR_ONLY}</style>")


def described_ui(text: str) -> None:
    """`text` for screen readers only: what the chart or picture just above shows."""
    st.html(f'<p class="sr-only">{html.escape(text)}</p>')
