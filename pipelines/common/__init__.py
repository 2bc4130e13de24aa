"""What every source shares: destination settings, full-refresh resolution, HTTP usage, the run CLI."""
