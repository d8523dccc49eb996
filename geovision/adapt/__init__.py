"""Fit a model to an event's own imagery from existing map data (``geovision adapt``)."""
