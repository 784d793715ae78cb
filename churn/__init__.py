"""Telco customer churn with MLflow: the course's Modules 1 and 2, one module per stage.

- ``churn.features`` the model's preprocessing step (one-hot + scaling, fast enough for a REST request)
- ``churn.loader``   data: fetch, verify, type and split the IBM Telco Customer Churn CSV
- ``churn.train``    training: a scikit-learn pipeline logged as an MLflow run (``train(params) -> run_id``)
- ``churn.evaluate`` evaluation: a linked run with metrics and charts (``evaluate(run_id) -> run_id``)
- ``churn.metrics``  the held-out metrics every run reports (``scores(y, proba) -> dict``)
- ``churn.compare``  training runs side by side, best ROC AUC first
- ``churn.register`` the model registry: ``register(run_id) -> version``, ``promote(to, margin) -> Decision``
  (the ROC AUC gate), ``rollback() -> version``, ``registry_table() -> rows``
- ``churn.serve``    MLflow's scoring server: ``serve(alias, port) -> Server`` (``.url``, ``.stop()``, ``with``),
  ``predict(url, records)``, ``export_model(alias, dest)`` (the Dockerfile's build context)
- ``churn.batching`` the ``churn serve`` engine: MLflow's scoring server with concurrent requests batched
- ``churn.exam``     the Module 2 exam kit: a store left by five pipeline runs and a quiz on it
- ``churn.pipeline`` train -> evaluate -> register -> promote -> serve -> smoke test: ``pipeline(params)``
- ``churn.plots``    the charts; ``churn.tracking`` run names, tags and the tracking URI
- ``churn.cli``      the ``churn`` command

Importing ``churn`` is cheap: pandas, scikit-learn and MLflow are imported by the stage modules that need them.
"""

# A logged churn model carries churn/features.py in its code/ folder, which MLflow puts first on sys.path when it
# loads the model: extending the package's path keeps every other churn module importable from here.
__path__ = __import__("pkgutil").extend_path(__path__, __name__)
