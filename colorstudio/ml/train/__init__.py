"""Training: data, simulated user input, losses, the resumable NoGAN trainer, export."""
