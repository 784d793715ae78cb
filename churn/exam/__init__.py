"""The Module 2 exam kit: a tracking store and model registry left by several pipeline runs, and a quiz on them.

::

    from churn.exam import build_kit

    build_kit(seed=3, out="exam-m2")    # mlflow.db, mlartifacts/, questions.yaml, README.md, teacher/

- ``churn.exam.scenario``  the training configurations a seed chooses, in the order they are run
- ``churn.exam.build``     runs train -> evaluate -> register -> promote (the real stages) for each of them into
  a fresh store inside the kit, then writes the quiz and the students' instructions
- ``churn.exam.questions`` the question bank: every answer computed from the store through ``MlflowClient``

Printing the quiz and grading answers are the same as for the Module 3 kit (:mod:`llmops.exam.quiz`,
:mod:`llmops.exam.grade`): ``churn exam questions|grade|student-copy``.
"""
