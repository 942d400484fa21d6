"""Camera family: OpenCV capture driver (v4l2://, file://) and its simulator."""
