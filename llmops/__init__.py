"""llmops — observable, versioned and testable LLM applications with MLflow.

Importing this package is cheap and has no side effects: no tracking URI is set, no autolog is enabled and
mlflow, langchain and chromadb are only imported by the functions that need them.
"""

__version__ = "0.1.0"
