"""Search strategies; each module registers one strategy."""
