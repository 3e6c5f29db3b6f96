"""Data: browse a dataset — samples per class, class counts, image sizes, augmentation."""

import numpy as np
import streamlit as st

from cnn import datasets, preprocess
from cnn.training.config import augmentations_for
from ui import charts, dataset_picker, glossary, loaders, pictures, state

AUGMENTED_COPIES = 6  # random augmentations of one image shown side by side
THUMB_PX = 56  # side of one sample in the class grid

st.title("Data")
choice = dataset_picker.dataset_source_ui("data-dataset")
if choice is None:
    st.stop()
picked, data_path = choice
try:
    data = loaders.load_dataset(picked.key, data_path)
except datasets.DatasetError as err:
    st.error(str(err))
    st.stop()
info = data.info
st.caption(f"Loaded from **{data.source}**. {data.detail}")

train_n, test_n, classes_n, size = st.columns(4)
train_n.metric("Training images", f"{len(data.train):,}")
test_n.metric("Test images", f"{len(data.test):,}")
classes_n.metric("Classes", len(data.class_names))
sizes = loaders.image_sizes(picked.key, data_path)
size.metric(
    "Image size (h x w)",
    sizes,
    help=f"Model input: {info.image_size[0]} x {info.image_size[1]} x {info.channels}",
)

st.subheader("Images per class")
k = len(data.class_names)
counts = {
    "train": np.bincount(data.train.labels, minlength=k),
    "test": np.bincount(data.test.labels, minlength=k),
}
st.plotly_chart(charts.class_counts(counts, data.class_names))

st.subheader("Samples")
count_col, again_col = st.columns([3, 1], vertical_alignment="bottom")
per_class = count_col.slider("Samples per class", 4, 16, 8)
again_col.button("Other samples", on_click=state.new_data_samples, icon=":material/casino:")
samples = loaders.class_samples(picked.key, per_class, state.data_seed(), data_path)
for name, images in samples.items():
    label, grid = st.columns([1, 8], vertical_alignment="center")
    label.markdown(f"**{name}**")
    grid.image(
        pictures.mosaic([pictures.thumbnail(i, THUMB_PX) for i in images], per_class, THUMB_PX)
    )

st.subheader("Augmentation preview")
glossary.explain_ui("augmentation")
st.caption(
    "The same image through the training augmentation (random each time, "
    "active only while training)."
)
level = st.segmented_control(
    "Strength", augmentations_for(picked.key), default="standard", key="data-augmentation-level",
    help="The Train page's Augmentation setting. elastic bends each digit by a smooth random "
    "wobble (Simard et al. 2003), as no two hands draw a 7 alike.",
) or "standard"  # fmt: skip
first_class = next(iter(samples.values()))
source_image = preprocess.photo_to_input(first_class[0], info.image_size, info.channels).input
name = datasets.augmentation_name(info.kind, level)
copies = loaders.augmented_copies(name, source_image, AUGMENTED_COPIES)
st.image(
    [pictures.framed(image, 112) for image in [source_image, *copies]],
    caption=["original", *(f"augmented {i + 1}" for i in range(AUGMENTED_COPIES))],
)
st.button("New random augmentations", icon=":material/casino:")
