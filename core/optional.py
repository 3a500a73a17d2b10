"""THE helper for the few genuinely optional third-party imports (mmpose, Blender's bpy, onnxruntime's CUDA
provider): everything else is imported at module level. The error says what to install and where it is explained."""
from __future__ import annotations

import importlib
from types import ModuleType


def optional_import(module: str, purpose: str, docs: str) -> ModuleType:
    """import `module`, or ImportError("<purpose> needs <top package> installed (see <docs>): <why>")."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ImportError(f"{purpose} needs {module.split('.')[0]} installed (see {docs}): {e}") from e
