"""Device drivers and their simulators, one folder per family."""
