__version__ = "0.1.0"
# The portable mode (QDD_PORTABLE=1, or --portable) sets variables torch reads when it starts, so it is entered here,
# before any qdd module imports torch (qdd.core refuses a torch started otherwise). qdd.provenance imports no torch.
import sys as _sys
from .provenance import enter_portable as _enter_portable, portable_requested as _portable_requested
if _portable_requested() and "torch" not in _sys.modules: _enter_portable()
