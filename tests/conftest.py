"""Fixtures shared by several test files."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def ray_session():
    """One local Ray instance (2 CPUs) for the whole test session (``ray.init`` costs ~5 s).

    Started the way the Ray executor starts its own (``local_cluster``: token authentication
    on, with a private token); yields the instance's GCS address.
    """
    pytest.importorskip("ray")
    from archsearch.evaluate.ray_local import local_cluster

    with local_cluster(num_cpus=2, include_dashboard=False, log_to_driver=False) as address:
        yield address


@pytest.fixture
def torch_one_thread():
    """One torch thread for the test: two on a busy 2-core machine can run 10-40x slower."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
