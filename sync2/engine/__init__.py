"""The stages of one change, between a source and the store.

Each module is one stage the orchestrator (:mod:`sync2.pipeline`) calls in turn: look-ups
fetched ahead of the apply lock, mapping, catchment, patient matching, history links, the
conflict check, invalidation. A stage gets what it needs as arguments (the store, a source, a
callable to apply resources or to reach another hospital) and never imports the pipeline back.
"""
