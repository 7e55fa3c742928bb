"""Fast kernels and, beside each, the small readable reference they are tested against."""
