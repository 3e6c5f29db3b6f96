"""The dataset picker: the registry's datasets with where each one would come from, and for
"Your own images" the .zip upload or the set made in this session."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from cnn import datasets, i18n
from cnn.i18n import tr
from ui import lesson, state


def _joined(*sentences: str) -> str:
    """Sentences one after another, as the language writes them (Chinese: no space between)."""
    return ("" if i18n.language() == "zh" else " ").join(s for s in sentences if s)


def dataset_picker_ui(
    key: str, include_folder: bool = False, default: str | None = None
) -> datasets.Availability:
    """A selectbox over the dataset registry with where each one would come from, starting on
    the dataset `default` (a lesson link's) the first time it is drawn; disabled when a
    locked lesson link fixes the setup."""
    choices = [a for a in datasets.list_datasets() if include_folder or a.key != "folder"]
    if default is not None and key not in st.session_state:
        st.session_state[key] = next((a for a in choices if a.key == default), choices[0])

    def title(a: datasets.Availability) -> str:
        if a.key == "folder":
            return tr("{title} (a .zip, or a set you made)").format(title=tr(a.title))
        return (
            a.title if a.available else tr("{title} (not on this computer)").format(title=a.title)
        )

    # a locked lesson link fixes the dataset: shown, not changeable
    picked = st.selectbox(
        tr("Dataset"), choices, format_func=title, key=key, disabled=lesson.locked()
    )
    description = tr(datasets.REGISTRY[picked.key].description)
    if picked.key == "folder":
        st.caption(description)
    elif picked.available:
        where = tr("From: {source}.").format(source=tr(picked.source))
        st.caption(_joined(description, where, tr(picked.detail)))
    else:
        st.caption(_joined(description, tr("Needs: {source}.").format(source=tr(picked.source))))
    return picked


def folder_upload_ui(key: str) -> Path | None:
    """A .zip of class subfolders for the "Your own images" dataset; its private path or None."""
    upload = st.file_uploader(
        tr("A .zip with one folder of images per class (e.g. cats/, dogs/)"), type=["zip"], key=key
    )
    if upload is None:
        st.info(tr("Upload a .zip of class subfolders to use your own images."))
        return None
    return state.save_upload(upload.getvalue(), ".zip")


def dataset_source_ui(
    key: str, default: str | None = None
) -> tuple[datasets.Availability, str | None] | None:
    """Dataset picker plus, for "Your own images", the .zip upload.

    Returns:
        (the picked dataset, the uploaded .zip's path or None), or None when the choice cannot
        be used yet (a message saying why is shown).
    """
    picked = dataset_picker_ui(key, include_folder=True, default=default)
    if picked.key == "folder":
        made = state.own_dataset()
        if made is not None and st.toggle(tr("Use the dataset you made"), True, key=f"{key}-made"):
            return picked, str(made)
        path = folder_upload_ui(f"{key}-zip")
        return None if path is None else (picked, str(path))
    if not picked.available:
        missing = tr("{title} is not available on this machine.").format(title=picked.title)
        st.info(_joined(missing, tr(picked.detail)))
        return None
    return picked, None
