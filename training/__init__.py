"""Training learned schedulers with stable-baselines3."""
