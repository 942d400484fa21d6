"""Sample cards for the ID-card simulator (JSON; fictional people). A package so the files ship in wheels."""
