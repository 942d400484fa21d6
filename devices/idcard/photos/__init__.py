"""ID-style photos for the simulator decoder (see ATTRIBUTION.txt). A package so the files ship in wheels."""
