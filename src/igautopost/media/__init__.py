"""Media: checking it against Instagram's rules before a post is scheduled, and local files.

- `rules`, `probe`, `preflight`: what Instagram accepts (../docs/media.md), what a file or a
  URL's first bytes hold, and the checks run by `igautopost validate` and at scheduling time.
- `protocols`: where local files' copies are kept (`MediaStore`) and how Instagram reaches
  them (`MediaHost`); `store` and `hosting` implement them (a folder, an S3-compatible
  bucket, or `igautopost serve` itself).
"""
