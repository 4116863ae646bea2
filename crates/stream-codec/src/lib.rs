//! MJPEG multipart/x-mixed-replace parser (sans-IO, any chunking, real-camera quirks) and writer.
#![forbid(unsafe_code)]
