"""Predict: draw, upload or pick an image; the answer beside it; what the model saw inside.

The model and its Inspector are cached per server, so a rerun costs one compiled forward
pass, never `model.predict`; "Where it looked" is a tested map, remembered per input.
Everything below the model picker follows the input and is one fragment
(`ui.predict_input`): a stroke reruns that part alone.
"""

import streamlit as st

from cnn import artifacts
from cnn.i18n import tr
from cnn.lesson import Lesson
from ui import class_runs, inputs, lesson, loaders, predict_input, run_picker

st.title(tr("Predict"))
runs = run_picker.runs_or_stop_ui()
link, locked = lesson.current(), lesson.locked()  # a lesson link's setup
model_col, source_col = st.columns([3, 2], vertical_alignment="bottom")
with model_col:
    # a class's shared runs too, for a student who joined (their own) or its teacher (all)
    info = run_picker.run_picker_ui(runs, locked=locked, shared=class_runs.choices())
if not info.ok:
    st.error(tr("This run is broken and cannot be used: {error}").format(error=info.error))
    st.stop()
try:
    loaded = loaders.load_run(info.path)
except artifacts.ArtifactError as err:
    st.error(str(err))
    st.stop()
record = info.record
# a model opens on its own default input (digits: the canvas; photos: samples); a lesson link
# asks for another only for the model it names, so picking another model leaves its source
asked = link.source if link.run in (None, info.name) else None
sources = inputs.sources_for(record, asked)
first = asked if asked in sources else sources[0]
if not locked:
    source = (
        source_col.segmented_control(
            tr("Input"),
            sources,
            default=first,
            format_func=tr,
            key="source-" + "-".join(sources),
        )
        or first
    )
else:
    source = first
with source_col:
    setup = Lesson(page="predict", run=info.name, source=source, lock=locked, present=link.present)
    lesson.sync_and_share_ui(setup)

# everything that follows the input, as a fragment: a stroke, Clear or a tab reruns that part
# alone, not the model picker, the lesson link and the sidebar above (issue 30)
predict_input.input_and_answer_ui(info, loaded, source)
