"""IPTC's digital source types (NewsCodes): how a picture was made, as C2PA manifests and XMP name it.

Plain constants (no Django): the modes declare theirs, the signer and the readers of uploads use the same.
"""
IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
TRAINED = IPTC + "trainedAlgorithmicMedia"
COMPOSITE = IPTC + "compositeWithTrainedAlgorithmicMedia"
# What marks a file as made (or partly made) by a generative model.
AI_SOURCE_TYPES = frozenset({TRAINED, COMPOSITE, IPTC + "algorithmicMedia", IPTC + "compositeSynthetic"})
