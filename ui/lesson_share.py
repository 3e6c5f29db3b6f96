"""A lesson link to hand out: an address students can reach (cnn.lessons.address), the link in
a box with a copy button, and a QR code of it large enough to scan off a projector.

The QR code is drawn by segno (pure Python, no other dependency, kept up to date), as PNG.
"""

from __future__ import annotations

import io
from urllib.parse import urlencode, urlsplit

import segno
import streamlit as st

from cnn.i18n import tr
from cnn.lessons.address import share_base
from ui import presenter

QR_PX = 280  # shown width: a 33-module code is then ~8 px a module, readable across a room
QR_SCALE = 12  # PNG pixels per module before the browser scales it down (crisp edges)


def qr_png(text: str) -> bytes:
    """A QR code of `text` as PNG bytes (error correction M: survives a smudged projector)."""
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=QR_SCALE, border=2)
    return buffer.getvalue()


def link_for(params: dict[str, str], path: str | None = None) -> tuple[str | None, str | None]:
    """(the link students can open, or None; the sentence saying which address it uses or
    why there is none). `path` defaults to the page the browser shows."""
    url = st.context.url
    base = share_base(url, st.get_option("browser.serverAddress"),
                      st.get_option("browser.serverPort"))  # fmt: skip
    if base.base is None:
        return None, base.note
    if path is None:
        path = urlsplit(url).path if url else "/"
    return f"{base.base}{path}?{urlencode(params)}", base.note


def link_ui(params: dict[str, str], path: str | None = None, qr: bool = True) -> None:
    """The link in a copyable box, what address it uses, and its QR code.

    Args:
        params: the link's query parameters.
        path: the page's path ("/" opens the app's first page); default the current page's.
        qr: also draw its QR code.
    """
    link, note = link_for(params, path)
    if link is None:
        st.code(f"?{urlencode(params)}", language=None)
        st.caption(note)
        return
    st.code(link, language=None)
    copy = tr("Copy it with the button at the right of the box.")
    st.caption(f"{copy} {note}" if note else copy)
    if qr:
        st.image(qr_png(link), width=presenter.px(QR_PX), caption=tr("Scan to open the link"),
                 alt=tr("QR code of the link {link}").format(link=link))  # fmt: skip
