"""Model inference over scenes of any size: windows, runtimes, blending, resumable outputs, Dask."""
