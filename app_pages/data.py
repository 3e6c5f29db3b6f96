"""Data: browse a dataset — samples per class, class counts, image sizes, augmentation."""

import numpy as np
import streamlit as st

from cnn import datasets, i18n, preprocess
from cnn.datasets import said
from cnn.i18n import N_, tr, trn
from cnn.training.config import augmentations_for
from ui import a11y, charts, dataset_picker, glossary, loaders, pictures, state

AUGMENTED_COPIES = 6  # random augmentations of one image shown side by side
THUMB_PX = 56  # side of one sample in the class grid
# the augmentation strengths, shown translated (their values stay English)
STRENGTHS = (N_("none"), N_("standard"), N_("strong"), N_("elastic"))


def counts_in_words(counts: dict[str, np.ndarray], names: list[str]) -> str:
    """The class-count chart in words: per split, its images and the classes with the fewest
    and the most."""
    parts = []
    for split, values in counts.items():
        low, high = int(np.argmin(values)), int(np.argmax(values))
        parts.append(
            tr(
                "{split}: {total} images, fewest in {low} ({low_n}), most in {high} ({high_n})"
            ).format(
                split=split,
                total=i18n.number(int(values.sum())),
                low=names[low],
                low_n=i18n.number(int(values[low])),
                high=names[high],
                high_n=i18n.number(int(values[high])),
            )
        )
    return tr("Images per class. {splits}.").format(splits="; ".join(parts))


st.title(tr("Data"))
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
st.caption(
    tr("Loaded from **{source}**. {detail}").format(
        source=said.now(data.source), detail=said.now(data.detail)
    )
)

train_n, test_n, classes_n, size = st.columns(4)
train_n.metric(tr("Training images"), i18n.number(len(data.train)))
test_n.metric(tr("Test images"), i18n.number(len(data.test)))
classes_n.metric(tr("Classes"), i18n.number(len(data.class_names)))
sizes = loaders.image_sizes(picked.key, data_path)
size.metric(
    tr("Image size (h x w)"),
    sizes,
    help=tr("Model input: {h} x {w} x {channels}").format(
        h=info.image_size[0], w=info.image_size[1], channels=info.channels
    ),
)

st.header(tr("Images per class"))
k = len(data.class_names)
counts = {
    tr("train"): np.bincount(data.train.labels, minlength=k),
    tr("test"): np.bincount(data.test.labels, minlength=k),
}
st.plotly_chart(charts.class_counts(counts, data.class_names))
a11y.described_ui(counts_in_words(counts, data.class_names))

st.header(tr("Samples"))
count_col, again_col = st.columns([3, 1], vertical_alignment="bottom")
per_class = count_col.slider(tr("Samples per class"), 4, 16, 8)
again_col.button(tr("Other samples"), on_click=state.new_data_samples, icon=":material/casino:")
samples = loaders.class_samples(picked.key, per_class, state.data_seed(), data_path)
for name, images in samples.items():
    label, grid = st.columns([1, 8], vertical_alignment="center")
    label.markdown(f"**{name}**")
    grid.image(
        pictures.mosaic([pictures.thumbnail(i, THUMB_PX) for i in images], per_class, THUMB_PX),
        alt=trn(
            "{n} sample image of the class {name}",
            "{n} sample images of the class {name}",
            len(images),
        ).format(name=name),
    )

st.header(tr("Augmentation preview"))
glossary.explain_ui("augmentation")
st.caption(
    tr(
        "The same image through the training augmentation (random each time, "
        "active only while training)."
    )
)
level = st.segmented_control(
    tr("Strength"), augmentations_for(picked.key), default="standard",
    key="data-augmentation-level", format_func=tr,
    help=tr("The Train page's Augmentation setting. elastic bends each digit by a smooth random "
    "wobble (Simard et al. 2003), as no two hands draw a 7 alike."),
) or "standard"  # fmt: skip
first_name, first_class = next(iter(samples.items()))
source_image = preprocess.photo_to_input(first_class[0], info.image_size, info.channels).input
name = datasets.augmentation_name(info.kind, level)
copies = loaders.augmented_copies(name, source_image, AUGMENTED_COPIES)
st.image(
    [pictures.framed(image, 112) for image in [source_image, *copies]],
    caption=[
        tr("original"),
        *(tr("augmented {i}").format(i=i18n.number(i + 1)) for i in range(AUGMENTED_COPIES)),
    ],
    alt=[
        tr("The original image, of the class {name}").format(name=first_name),
        *(
            tr("Augmented copy {i} of the same image ({level} augmentation)").format(
                i=i18n.number(i + 1), level=tr(level)
            )
            for i in range(AUGMENTED_COPIES)
        ),
    ],
)
st.button(tr("New random augmentations"), icon=":material/casino:")
