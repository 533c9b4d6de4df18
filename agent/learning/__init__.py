"""The agent learns from its runs: experience memory, LoRA adapters trained on checked trajectories, feedback."""
