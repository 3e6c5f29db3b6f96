"""The address a lesson link gives students: never one that only the teacher's computer opens.

A teacher who opens CNN Lab on the server itself sees `http://localhost:8501/...`; a link
built from that reaches nothing on a student's laptop. `share_base` keeps the browser's
address when it is one others can reach, and otherwise uses the server address Streamlit
was told (`browser.serverAddress`), else this computer's address on the local network, and
says which; when it knows none, it says so instead of giving a link.

Example:
    >>> share_base("http://localhost:8501/train", None, 8501)
    ShareBase(base='http://192.168.1.20:8501', note='Students cannot open localhost: ...')
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from cnn.i18n import tr

LOOPBACK = ("localhost", "127.0.0.1", "::1", "0.0.0.0", "")
# Addresses a UDP socket is "connected" to only to ask the system which of this computer's
# addresses would send there: a UDP connect sends nothing.
ROUTE_PROBES = ("10.255.255.255", "192.168.255.255", "172.31.255.255")
STANDARD_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class ShareBase:
    """Where a link's path goes: `base` ("http://host:port") or None when no address that
    students can reach is known; `note` says which address was used and why, or why none."""

    base: str | None
    note: str | None


def _is_loopback(host: str | None) -> bool:
    return host is None or host in LOOPBACK or host.startswith("127.")


def lan_address() -> str | None:
    """This computer's IPv4 address on its local network, or None when it has none."""
    for target in ROUTE_PROBES:
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                probe.connect((target, 9))
                address = probe.getsockname()[0]
        except OSError:
            continue
        if not _is_loopback(address):
            return address
    try:
        found = socket.gethostbyname_ex(socket.gethostname())[2]
    except OSError:
        return None
    return next((a for a in found if not _is_loopback(a)), None)


def _netloc(host: str, port: int | None, scheme: str) -> str:
    host = f"[{host}]" if ":" in host else host
    return host if port in (None, STANDARD_PORTS.get(scheme)) else f"{host}:{port}"


def share_base(
    browser_url: str | None, server_address: str | None, server_port: int | None
) -> ShareBase:
    """The start of a link students can open.

    Args:
        browser_url: the address the teacher's browser shows (None when it did not say).
        server_address: Streamlit's `browser.serverAddress` ("localhost" or empty: not set).
        server_port: Streamlit's `browser.serverPort`, used with `server_address`.
    """
    if not browser_url:
        return ShareBase(None, tr("Your browser did not say the app's address: add this to "
                                  "the end of it."))  # fmt: skip
    here = urlsplit(browser_url)
    scheme, host = here.scheme or "http", here.hostname
    if not _is_loopback(host):
        return ShareBase(f"{scheme}://{here.netloc}", None)
    shown = host or tr("this address")
    if server_address and not _is_loopback(server_address.strip()):
        address = server_address.strip()
        return ShareBase(
            f"{scheme}://{_netloc(address, server_port or here.port, scheme)}",
            tr("Students cannot open {shown}: this link uses {address}, the server address "
               "set in Streamlit's browser.serverAddress.").format(shown=shown, address=address),
        )
    lan = lan_address()
    if lan is not None:
        return ShareBase(
            f"{scheme}://{_netloc(lan, here.port, scheme)}",
            tr("Students cannot open {shown}: this link uses {address}, this computer's "
               "address on the local network; it works for students on the same network.")
            .format(shown=shown, address=lan),
        )
    return ShareBase(None, tr("This link would point at {shown}, which only this computer can "
                              "open, and this computer has no address on a network that I can "
                              "find: start CNN Lab on a computer of the school network, or set "
                              "browser.serverAddress, to share it.").format(shown=shown))
