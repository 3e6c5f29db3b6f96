"""Probe a trained model: invariance sweeps, occlusion, nearest training images, an embedding
map and adversarial examples. Numpy, OpenCV and scikit-learn; TensorFlow only through the
`cnn.inspect.Inspector` (and, for attacks, one compiled input gradient).

- `sweeps`: shift, rotate, scale, thicken, brighten, add noise, blur; one batched call each.
- `occlusion`: slide a grey patch and map the drop of the top class.
- `embedding`: penultimate-layer features, nearest training images, a 2-D map (PCA, t-SNE).
- `attack`: FGSM and PGD with the smallest epsilon that changes the answer.
"""
