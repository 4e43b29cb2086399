"""Training and export of ViT+WaveGAN generators: data preparation, losses, the training loop, model cards."""
