"""The runs of a Module 2 exam: five training configurations drawn from a seed, in the order they are run.

Each slot is a kind of candidate a team really tries, so the store tells a story the questions can ask about:

- ``baseline``:   a LogisticRegression, always first, so it is the first version in production;
- ``shallow``:    a RandomForest too shallow to compete (the gate refuses it);
- ``tuned``:      a RandomForest with a sensible depth (it may or may not beat the baseline);
- ``balanced``:   a strongly regularised LogisticRegression with balanced class weights (higher recall);
- ``overfit``:    a RandomForest without depth limit and one-sample leaves (train ROC AUC close to 1).

The seed chooses each slot's parameters and the order of the last four; the figures themselves come from the
real training on the real data, never from here.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from churn.train import TrainParams

SLOTS: dict[str, list[dict[str, object]]] = {
    "baseline": [{"model": "lr", "C": c} for c in (0.3, 1.0, 3.0)],
    "shallow": [
        {"model": "rf", "max_depth": d, "n_estimators": n, "min_samples_leaf": 5} for d in (2, 3) for n in (30, 50)
    ],
    "tuned": [
        {"model": "rf", "max_depth": d, "n_estimators": n, "min_samples_leaf": leaf}
        for d in (6, 8)
        for n in (150, 200)
        for leaf in (5, 10)
    ],
    "balanced": [{"model": "lr", "C": c, "class_weight": "balanced"} for c in (0.03, 0.1)],
    "overfit": [{"model": "rf", "max_depth": None, "n_estimators": n, "min_samples_leaf": 1} for n in (40, 60)],
}


@dataclass(frozen=True)
class Candidate:
    slot: str
    params: TrainParams


def candidates(seed: int) -> list[Candidate]:
    """The five configurations of ``seed``: ``baseline`` first, the others in a seeded order."""
    rng = random.Random(f"churn-exam:{seed}")
    chosen = {slot: rng.choice(options) for slot, options in SLOTS.items()}
    rest = [slot for slot in SLOTS if slot != "baseline"]
    rng.shuffle(rest)
    return [Candidate(slot, TrainParams(**chosen[slot])) for slot in ("baseline", *rest)]
