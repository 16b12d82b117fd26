"""A private local Ray instance: token authentication on, with a token of its own.

Ray's services (GCS server, raylet and its object manager, every worker's gRPC server, the
runtime-env agent) listen on all interfaces, and Ray 2.60 maps a node address of ``127.0.0.1``
to the machine's own IP, so they cannot be held to loopback from the Python API. What keeps
others out is Ray's token authentication: every gRPC and HTTP endpoint then refuses a request
without the cluster's token (``UNAUTHENTICATED``; HTTP 401). Left to itself, Ray 2.60 writes a
shared ``~/.ray/auth_token`` (mode 0644) and logs a warning at every start; instead each local
instance gets a fresh 256-bit token in a file of mode 0600 inside a folder of mode 0700, handed
to Ray's processes only through the environment they inherit from the driver
(``RAY_AUTH_TOKEN_PATH``), and removed with the instance. The driver's own ``RAY_AUTH_*``
variables are restored afterwards, so a later ``ray.init(address=...)`` in the same process sees
the user's settings; a cluster joined with ``--address`` always keeps its own.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

#: The environment variables Ray reads for its authentication settings.
AUTH_VARS = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")


@contextlib.contextmanager
def local_cluster(**init_options: Any) -> Iterator[str]:
    """Start a local Ray instance that only holders of its token can use; yields its address.

    ``init_options`` go to ``ray.init`` (never ``address``: this starts a new instance). The
    instance is shut down, its token file removed and the environment restored on exit.
    """
    import ray

    if "address" in init_options:
        raise ValueError("local_cluster starts a new instance; join a cluster with ray.init")
    folder = Path(tempfile.mkdtemp(prefix="archsearch-ray-"))  # mode 0700, this user's only
    token_file = folder / "auth_token"
    fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32))  # 256 bits, as Ray's own generator
    before = {name: os.environ.get(name) for name in AUTH_VARS}
    os.environ.pop("RAY_AUTH_TOKEN", None)  # it would take precedence over the file
    os.environ["RAY_AUTH_MODE"] = "token"
    os.environ["RAY_AUTH_TOKEN_PATH"] = str(token_file)
    try:
        _reload_auth_settings()
        # "local": a new instance even where RAY_ADDRESS or a `ray start` on this machine
        # would make a bare ray.init() join that cluster instead.
        ray.init(address="local", **init_options)
        try:
            yield ray.get_runtime_context().gcs_address
        finally:
            ray.shutdown()
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        # The settings first, then the file: a core-worker thread still draining after
        # shutdown must not find token mode on and the token gone.
        _reload_auth_settings()
        shutil.rmtree(folder, ignore_errors=True)


def _reload_auth_settings() -> None:
    """Make an already imported Ray read ``RAY_AUTH_*`` again (it caches them at import).

    The same two calls Ray makes when it switches token mode on itself
    (``ray._private.authentication.authentication_token_setup``).
    """
    from ray._raylet import AuthenticationTokenLoader, Config

    Config.initialize("")
    AuthenticationTokenLoader.instance().reset_cache()
