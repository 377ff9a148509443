"""Where Numba keeps the compiled kernels: ``CACHE`` is the ``cache=`` flag of every ``njit``.

Numba caches next to the source (``j3o_fast/__pycache__``) or, when the installed package is
read-only, in the user's cache folder. When neither can be written (a read-only install and no
writable home, as for service accounts), the cache goes to a folder of this user in the system's
temporary directory; when even that fails, kernels are compiled at each start (``CACHE`` False)
rather than failing the import. ``NUMBA_CACHE_DIR``, if set, is always left to Numba.
"""

from __future__ import annotations

import getpass
import tempfile
from pathlib import Path


def _writable(folder: Path) -> bool:
    """True if a file can be created in ``folder`` (created if missing)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
        return True
    except OSError:
        return False


def _user_cache() -> Path:
    from numba.misc.appdirs import AppDirs

    return Path(AppDirs(appname="numba", appauthor=False).user_cache_dir)


def fallback_folder() -> Path:
    """The per-user cache folder in the system's temporary directory."""
    return Path(tempfile.gettempdir()) / f"j3o_fast-numba-{getpass.getuser()}"


def choose_cache() -> bool:
    """Make sure Numba has a writable cache location; False if there is none (compile instead)."""
    from numba.core import config

    if config.CACHE_DIR:
        return True
    if _writable(Path(__file__).parent / "__pycache__") or _writable(_user_cache()):
        return True
    folder = fallback_folder()
    if _writable(folder):
        config.CACHE_DIR = str(folder)
        return True
    return False


CACHE = choose_cache()
