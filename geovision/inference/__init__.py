"""Model inference over scenes of any size: windows (centre crops), runtimes, resumable outputs, Dask."""
