"""The geovision test suite (a package, so test helpers are imported as ``tests.<module>``)."""
