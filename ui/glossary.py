"""Plain-language explanations, one click away: what each idea on screen means.

Written for a 15-year-old who has never heard of a neural network. `explain_ui(term)` puts a
small "What is ...?" button beside a view; the text opens in a popover and never gets in the way.
"""

from __future__ import annotations

import streamlit as st

from cnn.i18n import N_, tr

GLOSSARY: dict[str, tuple[str, str]] = {
    # key: (question on the button, answer), translated where shown
    "convolution": (
        N_("What is a convolution?"),
        N_(
            "A small grid of numbers, the **filter** (often 3 by 3), slides over the picture. At "
            "every position it multiplies the pixels under it by its own numbers and adds them "
            "up. Where the picture looks like the filter's pattern the sum is large, elsewhere "
            "small. That is all a convolution is: the same small pattern-detector used everywhere "
            "on the picture."
        ),
    ),
    "filter": (
        N_("What is a filter?"),
        N_(
            "The small grid of numbers a convolution slides over the picture. Nobody writes them: "
            "they start as random noise and **training** changes them, a tiny bit after every "
            "batch, until they pick out things that help to tell the classes apart, such as edges, "
            "corners or blobs of colour. Each picture here is one filter, bright where its numbers "
            "are large."
        ),
    ),
    "feature map": (
        N_("What is a feature map?"),
        N_(
            "The picture a filter makes when it slides over its input: bright where it found its "
            "pattern, dark where it did not. A layer with 32 filters makes 32 feature maps. The "
            "next layer looks at those maps instead of the pixels, so it can find patterns made of "
            "patterns: strokes made of edges, loops made of strokes."
        ),
    ),
    "relu": (
        N_("What is ReLU?"),
        N_(
            "After each convolution every negative number is replaced by 0 and positive numbers "
            "stay. It is the simplest possible 'switch': a feature is either there (how much) or "
            "not. Without such a bend, stacking layers would be no better than one layer."
        ),
    ),
    "pooling": (
        N_("What is pooling?"),
        N_(
            "Max-pooling shrinks a feature map: it cuts it into 2 by 2 squares and keeps only the "
            "largest number of each. The map gets four times smaller and a feature that moves by a "
            "pixel still gives the same answer, so the network cares less about exactly where "
            "things are."
        ),
    ),
    "dense": (
        N_("What is a dense layer?"),
        N_(
            "A layer where every number is connected to every number of the layer before, each "
            "connection with its own weight. At the end of a CNN, dense layers combine all the "
            "features that were found into one score per class."
        ),
    ),
    "softmax": (
        N_("What are the probabilities?"),
        N_(
            "The last layer gives one score per class. Softmax turns the scores into numbers "
            "between 0 and 100% that add up to 100%: the larger a score, the larger its share. The "
            "model must always share out the whole 100% among its classes, even for a picture of "
            "something it has never seen."
        ),
    ),
    "loss": (
        N_("What is the loss?"),
        N_(
            "A number that says how wrong the model is on the training images: small when it gives "
            "the right class a high probability, large when it is confident and wrong. Training "
            "nudges every weight in the direction that makes the loss smaller."
        ),
    ),
    "accuracy": (
        N_("What is accuracy?"),
        N_(
            "The share of images whose most likely class is the right one. **Validation** accuracy "
            "is measured on images held back from training: it tells how well the model works on "
            "pictures it has never seen."
        ),
    ),
    "overfitting": (
        N_("What is overfitting?"),
        N_(
            "When training accuracy keeps rising but validation accuracy stops or falls, the model "
            "is memorising its training images instead of learning what the classes have in "
            "common. More data, augmentation, dropout or fewer epochs help."
        ),
    ),
    "augmentation": (
        N_("What is augmentation?"),
        N_(
            "During training every image is changed a little at random each time it is shown: "
            "shifted, rotated, zoomed, flipped; a digit's strokes thickened, or the whole digit "
            "bent a little (elastic). The model sees more variety and learns that a slightly moved "
            "or wobbly 7 is still a 7."
        ),
    ),
    "where it looked": (
        N_("How is 'where it looked' found?"),
        N_(
            "The model never tells us where it looked, so we test it from outside. The map shown "
            "first hides random parts of the picture (or, for photos, adds noise) many times and "
            "watches how sure the model stays: the parts it needs turn red. Then the map itself "
            "is tested: remove the red pixels first and the answer should collapse much sooner "
            "than when you remove random pixels; and a network with scrambled weights should "
            "give a different map. A map that fails those tests (Grad-CAM on digit models often "
            "lights up the empty background) says so beside its name."
        ),
    ),
    "calibration": (
        N_("What does 'calibrated' mean?"),
        N_(
            "A model is calibrated when its confidence can be taken at its word: of all the "
            "answers it gives with 80% confidence, about 80% are right. Networks are often "
            "over-confident, so CNN Lab divides the scores by one number (the temperature) fitted "
            "on images the model did not train on."
        ),
    ),
}


def explain_ui(term: str) -> None:
    """A small "What is ...?" button whose popover holds the plain-language explanation."""
    question, answer = GLOSSARY[term]
    with st.popover(tr(question), icon=":material/school:"):
        st.markdown(tr(answer))
