"""Data and training: the synthetic multi-stem corpus, dataset preparation, training loops and ONNX export."""
