"""CNN Lab engine: datasets, architectures, training, inspection, evaluation, runs on disk."""
