"""A lesson step's question: multiple choice, or a number the student predicts before the app
measures it on their own run (cnn.lessons.reveals), and what they answered beside what the
model did. Answers stay in this session (`ANSWERS`), so Back shows them again.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from cnn import i18n
from cnn.errors import CnnError
from cnn.i18n import tr
from cnn.lessons import REVEALS, LessonPlan, Measured, Question, RunView, measure
from ui import loaders, state

ANSWERS = "lesson-answers"  # session key: "lesson/step index" -> Answer


@dataclass
class Answer:
    """What the student answered at one step, and what was measured on their run."""

    choice: int | None = None  # the index of the choice they picked
    predicted: float | None = None  # their prediction before the reveal
    measured: Measured | None = None
    run_title: str = ""  # the run it was measured on
    problem: str | None = None  # why it could not be measured (a sentence)


def answers() -> dict[str, Answer]:
    """This session's answers, by "lesson/step index"."""
    return st.session_state.setdefault(ANSWERS, {})


def question_ui(plan: LessonPlan, index: int) -> None:
    """The question of step `index`: asked, or answered with the answer and the measurement."""
    question = plan.steps[index].question
    key = f"{plan.key}/{index}"
    kept = answers().setdefault(key, Answer())
    st.markdown(tr("**Question:** {text}").format(text=question.text))
    if question.choices:
        if kept.choice is None and not _choice_form_ui(question, kept, key):
            return
        _choice_result_ui(question, kept)
    if question.reveal:
        _reveal_ui(question, kept, key)


def _choice_form_ui(question: Question, kept: Answer, key: str) -> bool:
    """The choices and a Check button; True once the student has answered."""
    picked = st.radio(tr("Your answer"), range(len(question.choices)), index=None,
                      format_func=lambda i: question.choices[i], key=f"lesson-choice-{key}",
                      label_visibility="collapsed")  # fmt: skip
    if st.button(tr("Check my answer"), key=f"lesson-check-{key}", disabled=picked is None):
        kept.choice = picked
        return True
    return False


def _choice_result_ui(question: Question, kept: Answer) -> None:
    right = question.choices[question.answer]
    if kept.choice == question.answer:
        st.success(tr("Right: {answer}").format(answer=right), icon=":material/check_circle:")
    else:
        st.warning(tr("You answered: {yours}. The answer: **{answer}**").format(
            yours=question.choices[kept.choice], answer=right),
                   icon=":material/lightbulb:")  # fmt: skip
    if question.explanation and not question.reveal:
        st.markdown(question.explanation)


def _reveal_ui(question: Question, kept: Answer, key: str) -> None:
    """Predict, then measure: the prediction form, then both numbers side by side."""
    reveal = REVEALS[question.reveal]
    unit = tr(reveal.unit)
    if kept.predicted is None:
        with st.form(f"lesson-predict-{key}", border=False):
            guess_col, go_col = st.columns([3, 2], vertical_alignment="bottom")
            guess = guess_col.number_input(
                tr("Your prediction ({unit})").format(unit=unit), value=None, step=1.0,
                format="%.1f", key=f"lesson-guess-{key}",
            )  # fmt: skip
            measured = go_col.form_submit_button(
                tr("Measure it"), type="primary", width="stretch",
                help=tr("Measures it on your own model: the active model, and the picture on "
                        "Predict."),
            )  # fmt: skip
        if measured and guess is None:
            st.info(tr("Type your prediction first: guess before you see it."))
        if measured and guess is not None:
            kept.predicted = float(guess)
            _measure(question.reveal, kept)
            st.rerun()  # drawn again without the form
        return
    yours, model = st.columns(2)
    yours.metric(tr("You predicted ({unit})").format(unit=unit), _number(kept.predicted))
    if kept.problem is None:
        value = kept.measured.value
        model.metric(tr("Your model ({unit})").format(unit=unit),
                     kept.measured.shown if value is None else _number(value))  # fmt: skip
        st.caption(tr("{how} Measured on **{run}**.").format(how=kept.measured.how,
                                                              run=kept.run_title))  # fmt: skip
        if question.explanation:
            st.markdown(question.explanation)
    else:
        st.info(kept.problem)
    if st.button(tr("Measure again"), key=f"lesson-again-{key}", icon=":material/refresh:",
                 help=tr("After training again or changing the picture on Predict.")):  # fmt: skip
        _measure(question.reveal, kept)
        st.rerun()


def _number(value: float) -> str:
    """A number as a metric shows it, the language's way: 3, 99.8, 1,167,786 (es: 99,8)."""
    return i18n.number(value, 0) if abs(value) >= 1000 else i18n.number(value)


def _measure(name: str, kept: Answer) -> None:
    """Measure reveal `name` on the active run (and the input on Predict) into `kept`."""
    active = state.active_run()
    if active is None:
        kept.problem = tr("There is no model yet: train one, or pick one on Predict.")
        return
    try:
        loaded = loaders.load_run(active)
        current = state.current_input(active) if REVEALS[name].needs == "image" else None
        image = current.steps.input if current is not None else None
        kept.measured = measure(name, RunView(loaded.run.record, loaded.inspector, image))
    except CnnError as err:
        kept.problem = str(err)
        return
    kept.problem, kept.run_title = None, loaded.run.info.title
