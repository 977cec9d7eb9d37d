"""Image and mask tools: mask operations, inpaint preparation, blending, cropping, colour matching, regions and pre-fill."""
