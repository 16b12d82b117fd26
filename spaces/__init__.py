"""Search spaces shipped with archsearch; each module registers its spaces."""
