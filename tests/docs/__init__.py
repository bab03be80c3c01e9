"""The README, docs/ and the CHANGELOG against the code."""
