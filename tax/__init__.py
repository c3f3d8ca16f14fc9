"""Individual inhabitant tax (個人住民税): pure rules per fiscal year and the simulation."""
