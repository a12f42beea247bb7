"""langaudit: audit LLM fine-tuning datasets for language consistency.

Heavy modules load on first use, so ``import langaudit`` stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "AuditConfig",
    "AuditStats",
    "InputError",
    "LangauditError",
    "Report",
    "RewriteResult",
    "UsageError",
    "__version__",
    "audit",
    "check",
    "read_registry",
    "result_schema",
    "rewrite",
    "scan",
    "scan_batch",
    "scan_batches",
]

_LAZY = {
    "AuditConfig": "config",
    "AuditStats": "report",
    "Report": "report",
    "RewriteResult": "rewriting",
    "rewrite": "rewriting",
    "audit": "api",
    "check": "gate",
    "read_registry": "registry",
    "InputError": "errors",
    "LangauditError": "errors",
    "UsageError": "errors",
    "result_schema": "engine",
    "scan": "api",
    "scan_batch": "api",
    "scan_batches": "api",
}

if TYPE_CHECKING:
    from .api import audit, scan, scan_batch, scan_batches
    from .config import AuditConfig
    from .engine import result_schema
    from .errors import InputError, LangauditError, UsageError
    from .gate import check
    from .registry import read_registry
    from .report import AuditStats, Report
    from .rewriting import RewriteResult, rewrite


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'langaudit' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
