"""Reference data for the demo population: 町字 masters and name pools."""
