"""Private tabular synthesis: CTAB-GAN+ trained with DP-SGD."""
