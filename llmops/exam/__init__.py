"""Module 3 exam kits: a recorded trace set with planted faults, a bilingual quiz computed from it, grading.

::

    from llmops.exam import build_kit, load_questions, grade

    build_kit(seed=7, out="traces/exam-7")          # traces.jsonl, questions.yaml, README.md, teacher/
    grade("traces/exam-7", "answers.yaml")          # score and per-question feedback with evidence

A kit is built by running the real analyzer (LangChain agent, offline model over HTTP, chromadb, tools)
with faults planted through the offline model's fault injection and the application's own configuration,
then canonicalising the recorded traces (ids from the seed, times from a simulated clock) so that the same
seed gives the same bytes.
"""

from __future__ import annotations

from llmops._lazy import lazy_exports

_EXPORTS = {
    "build_kit": "build",
    "BuildReport": "build",
    "Scenario": "scenario",
    "make_scenario": "scenario",
    "compute_questions": "questions",
    "load_questions": "quiz",
    "render_questions": "quiz",
    "student_copy": "quiz",
    "grade": "grade",
    "GradeReport": "grade",
    "ExamError": "errors",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
