"""Model runtimes: the Backend interface (torch, ONNX Runtime), device choice, manifests and the model registry."""
