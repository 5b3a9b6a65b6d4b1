from ._types import BackendError as BackendError
from ._types import CompileError as CompileError
from ._types import Diagnostic as Diagnostic
from ._types import EntityError as EntityError
from ._types import Error as Error
from ._types import Verdict as Verdict
from ._writ import Decision as Decision
from ._writ import Engine as Engine
from ._writ import Entities as Entities
from ._writ import PolicySet as PolicySet
from ._writ import Reason as Reason
from ._writ import RuleError as RuleError
from ._writ import __version__ as __version__

__all__ = [
    "BackendError",
    "CompileError",
    "Decision",
    "Diagnostic",
    "Engine",
    "Entities",
    "EntityError",
    "Error",
    "PolicySet",
    "Reason",
    "RuleError",
    "Verdict",
    "__version__",
]
