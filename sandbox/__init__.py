"""Local replicas of the source APIs, fed by a deterministic synthetic person. All data is synthetic."""
