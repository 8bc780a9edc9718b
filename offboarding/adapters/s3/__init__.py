"""S3 through boto3: the client (configured the standard AWS way) and the object store the
exports write to. Not pure: this is I/O."""
