"""Photos: uploaded images checked and re-encoded, generated demo pictures, and where they live.

`images` decodes an upload with Pillow (refusing what is not an image, a format other than
JPEG, PNG or WebP, and decompression bombs), re-encodes it without metadata and makes a
thumbnail; `demo` draws the demo catalogue's pictures (no downloads); `store` is the port
photos are kept behind (`MediaStore`) with its local-disk adapter, and `s3` its S3 adapter
(photos in a bucket behind CloudFront), which replaces it without touching who uses it.

May import the standard library, Pillow and the S3 SDK only: no engine, face or storage module.
"""
