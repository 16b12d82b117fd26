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
