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
# Streamlit greys a caption by drawing the body text at 60% opacity: #828180 on white, 3.9:1,
# under WCAG 1.4.3's 4.5:1 (axe-core: every caption of every page). At 80% it is ~7:1.
CAPTIONS = ".stApp [data-testid='stCaptionContainer'] { opacity: 0.8; }"
# A keyboard user sees where they are (WCAG 2.4.7): one ring in the theme's colour (#4f46e5,
# 6.3:1 on white) on whatever has the keyboard's focus, buttons, tabs and links included.
FOCUS = ".stApp :focus-visible { outline: 3px solid #4f46e5 !important; outline-offset: 2px; }"
# Motion only for those who have not asked their system for less (WCAG 2.3.3): Streamlit's
# own transitions and spinners, and any CSS animation of ours. (The time-lapse never plays
# by itself and moves frame by frame with no tween: ui/timelapse.py.)
REDUCED_MOTION = (
    "@media (prefers-reduced-motion: reduce) { *, *::before, *::after {"
    " animation-duration: 0.01ms !important; animation-iteration-count: 1 !important;"
    " transition-duration: 0.01ms !important; scroll-behavior: auto !important; } }"
)
# Headings in order (axe-core's heading-order): a page's sections are h2 under its h1 title
# (st.header; they were st.subheader, h3, which skipped a level), drawn at the size and
# spacing the h3 had, so the pages look as before; a lesson card's title is an h2 of its own
# class drawn as the h4 it was.
HEADINGS = (
    ".stApp [data-testid='stMain'] h2 { font-size: 1.75rem; line-height: 1.2;"
    " padding: 0.75rem 0 1rem; }"
    " .stApp [data-testid='stMain'] h2.card-title { font-size: 1.5rem; padding: 0.5rem 0 1rem; }"
)
# An st.html holding only a style or a script draws nothing, but its container took a 16 px gap
# in the page's column (this module's two and the other pages' pushed the title 32 px down)
NOTHING_DRAWN = (
    "[data-testid='stElementContainer']:has([data-testid='stHtml'] > :is(style, script)"
    ":only-child) { display: none; }"
)
# Streamlit's toast is an alertdialog labelled by an element it leaves empty (axe-core's
# aria-dialog-name, serious): name each toast by its own text when it appears.
TOAST_NAMES = """<script>
if (!window.cnnToastNames) {
  window.cnnToastNames = new MutationObserver(() => {
    for (const toast of document.querySelectorAll('[data-testid="stToast"]:not([aria-label])'))
      toast.setAttribute("aria-label", toast.innerText.trim() || "Message");
  });
  window.cnnToastNames.observe(document.body, {childList: true, subtree: true});
}
</script>"""


def style() -> None:
    """The styles the helpers here need, once per run (the router calls it)."""
    st.html(
        f"<style>{SR_ONLY} {CAPTIONS} {FOCUS} {REDUCED_MOTION} {HEADINGS} {NOTHING_DRAWN}</style>"
    )
    st.html(TOAST_NAMES, unsafe_allow_javascript=True)


def described_ui(text: str) -> None:
    """`text` for screen readers only: what the chart or picture just above shows."""
    st.html(f'<p class="sr-only">{html.escape(text)}</p>')
