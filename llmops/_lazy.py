"""Lazy package exports: names that load their submodule on first use, so importing a package stays cheap.

    _EXPORTS = {"setup": "lifecycle", "OfflineLLM": "llmops.llm.server"}
    __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

A value is a submodule name relative to the package, or a full dotted module path.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable


def lazy_exports(
    package: str, exports: dict[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        target = module if "." in module else f"{package}.{module}"
        value = getattr(importlib.import_module(target), name)
        namespace[name] = value  # later lookups skip __getattr__
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
