"""The model-from-code file MLflow logs with the analyzer model (``python_model=<this file>``).

MLflow runs this file when it loads the model; ``set_model`` tells it which object is the model. The logic
lives in :mod:`llmops.serving.pyfunc`, which the package never imports by itself: this file is not imported
by llmops, only executed by MLflow.
"""

import mlflow

from llmops.serving.pyfunc import AnalyzerModel

mlflow.models.set_model(AnalyzerModel())
