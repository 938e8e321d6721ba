"""Names and places every tool agrees on: tag names, distribution server layout, conda platforms."""
