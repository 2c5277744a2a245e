"""Small shared networks and training loops used by several capabilities."""
