"""Reference agents: MC-SF and the baselines of the paper, behind a registry."""
