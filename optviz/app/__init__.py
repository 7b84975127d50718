"""App: what a user drives -- the run pipeline, batch rendering, the command line
and the interactive explorer."""
