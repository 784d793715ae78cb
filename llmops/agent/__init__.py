"""The comment analyzer: tools, the LangChain agent, safety rules and batch runs."""

from llmops.agent.schema import AnalysisResult, CommentAnalysis

__all__ = ["AnalysisResult", "CommentAnalysis", "Analyzer", "Comment", "AnalysisError"]


def __getattr__(name: str):
    # The analyzer pulls in langchain and mlflow: import it when it is used, not with the package.
    if name in ("Analyzer", "Comment", "AnalysisError"):
        from llmops.agent import analyzer

        return getattr(analyzer, name)
    raise AttributeError(name)
