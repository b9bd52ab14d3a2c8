"""HTTP plumbing shared by every router: middleware, limits, metrics, error mapping."""
